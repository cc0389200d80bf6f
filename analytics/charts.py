"""Server-rendered SVG charts. Every mark carries its number as text, so a chart reads
without colour; shapes (dot, whiskers, dashed zero line, hatching) separate series."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.0f} pts" if signed else f"{value * 100:.0f}%"


#: Room right of a full-length bar for its "75% of 1,234 deals" label.
VALUE_LABEL_ROOM = 130


def interval_chart(numbers: dict, *, width: int = 560) -> SafeString:
    """Win rate vs stage-matched baseline as two labelled bars, and the lift as a dot with
    its 95% interval on a -100..+100 point axis with a dashed zero line."""
    win, base = numbers.get("win_rate"), numbers.get("baseline_win_rate")
    lift, low, high = (numbers.get(k) for k in ("lift", "lift_ci_low", "lift_ci_high"))
    left, right = 170, width - 20
    span = right - left
    bar_span = span - VALUE_LABEL_ROOM
    parts = [
        f'<svg class="chart interval-chart" role="img" viewBox="0 0 {width} 150" '
        f'width="100%" aria-labelledby="interval-title">',
        '<title id="interval-title">'
        + escape(
            f"Win rate {_pct(win)} vs baseline {_pct(base)}; lift {_pct(lift, True)} "
            f"(95% interval {_pct(low, True)} to {_pct(high, True)})"
        )
        + "</title>",
    ]
    for row, (label, value, n, css) in enumerate(
        [
            ("Used this asset", win, numbers.get("deals_used"), "bar-used"),
            ("Stage-matched baseline", base, numbers.get("baseline_deals"), "bar-base"),
        ]
    ):
        y = 10 + row * 30
        bar = 0 if value is None else value * bar_span
        parts.append(f'<text x="0" y="{y + 15}" class="label">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{bar:.1f}" height="20" class="{css}"/>')
        parts.append(
            f'<text x="{left + bar + 6:.1f}" y="{y + 15}" class="value">'
            f"{escape(_pct(value))} of {n or 0} deals</text>"
        )
    parts.append(_lift_axis(lift, low, high, left, span))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _lift_axis(lift, low, high, left, span) -> str:
    def x(value: float) -> float:
        return left + (max(-1.0, min(1.0, value)) + 1) / 2 * span

    y = 110
    parts = [
        f'<text x="0" y="{y + 5}" class="label">Lift, 95% interval</text>',
        f'<line x1="{left}" y1="{y}" x2="{left + span}" y2="{y}" class="axis"/>',
        f'<line x1="{x(0):.1f}" y1="{y - 14}" x2="{x(0):.1f}" y2="{y + 14}" class="zero"/>',
        f'<text x="{x(0):.1f}" y="{y + 30}" class="tick" text-anchor="middle">0</text>',
        f'<text x="{left}" y="{y + 30}" class="tick">-100</text>',
        f'<text x="{left + span}" y="{y + 30}" class="tick" text-anchor="end">+100 pts</text>',
    ]
    if lift is None:
        parts.append(f'<text x="{x(0) + 8:.1f}" y="{y - 6}" class="value">no data</text>')
        return "".join(parts)
    parts += [
        f'<line x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" class="whisker"/>',
        f'<line x1="{x(low):.1f}" y1="{y - 8}" x2="{x(low):.1f}" y2="{y + 8}" class="whisker"/>',
        f'<line x1="{x(high):.1f}" y1="{y - 8}" x2="{x(high):.1f}" y2="{y + 8}" class="whisker"/>',
        f'<circle cx="{x(lift):.1f}" cy="{y}" r="6" class="point"/>',
        f'<text x="{x(lift):.1f}" y="{y - 12}" class="value" text-anchor="middle">'
        f"{escape(_pct(lift, True))} ({escape(_pct(low, True))} to "
        f"{escape(_pct(high, True))})</text>",
    ]
    return "".join(parts)


def weekly_chart(weeks: list[dict], *, width: int = 560, height: int = 160) -> SafeString:
    """Weekly events as bars: solid for touches of deals, hatched for a rep's own views and
    downloads; the tallest week is labelled with its number."""
    if not weeks:
        return mark_safe('<p class="muted">No usage recorded in this period.</p>')
    touch_kinds = ("asset_shared", "buyer_opened", "used_in_deal", "asset_presented")
    own_kinds = ("asset_viewed", "asset_downloaded")
    totals = [
        (w["week"], sum(w.get(k, 0) for k in touch_kinds), sum(w.get(k, 0) for k in own_kinds))
        for w in weeks
    ]
    top = max(t + o for _, t, o in totals) or 1
    step = (width - 40) / len(totals)
    bar = max(1.0, step * 0.8)
    plot = height - 30
    parts = [
        f'<svg class="chart weekly-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%"><title>Weekly usage: {len(totals)} weeks, busiest {top} events</title>',
        '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="4" class="hatch"/>'
        "</pattern></defs>",
    ]
    for index, (week, touches, own) in enumerate(totals):
        x = 30 + index * step
        touch_h = touches / top * plot
        own_h = own / top * plot
        label = escape(f"week of {week}: {touches} touches, {own} views/downloads")
        parts.append(
            f'<g><title>{label}</title><rect x="{x:.1f}" y="{plot - touch_h:.1f}" '
            f'width="{bar:.1f}" height="{touch_h:.1f}" class="bar-touch"/>'
            f'<rect x="{x:.1f}" y="{plot - touch_h - own_h:.1f}" width="{bar:.1f}" '
            f'height="{own_h:.1f}" fill="url(#hatch)" class="bar-own"/></g>'
        )
    parts.append(f'<text x="0" y="12" class="tick">{top}</text>')
    parts.append(f'<text x="0" y="{plot}" class="tick">0</text>')
    parts.append(
        f'<text x="30" y="{height - 8}" class="tick">{escape(str(totals[0][0]))}</text>'
        f'<text x="{width - 10}" y="{height - 8}" class="tick" text-anchor="end">'
        f"{escape(str(totals[-1][0]))}</text></svg>"
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def attribution_chart(numbers: dict, *, width: int = 560) -> SafeString:
    """The five attribution models side by side as labelled horizontal bars."""
    models = [
        ("First touch", "attributed_first_touch"),
        ("Last touch", "attributed_last_touch"),
        ("Linear", "attributed_linear"),
        ("U-shaped", "attributed_u_shaped"),
        ("Time decay", "attributed_time_decay"),
    ]
    values = [(label, float(numbers.get(key) or 0)) for label, key in models]
    top = max(value for _, value in values) or 1.0
    left, span = 110, width - 230
    parts = [
        f'<svg class="chart attribution-chart" role="img" viewBox="0 0 {width} 160" '
        'width="100%"><title>Attributed revenue by model</title>'
    ]
    for row, (label, value) in enumerate(values):
        y = 8 + row * 30
        bar = value / top * span
        parts.append(
            f'<text x="0" y="{y + 15}" class="label">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{bar:.1f}" height="20" class="bar-used"/>'
            f'<text x="{left + bar + 6:.1f}" y="{y + 15}" class="value">{value:,.0f}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
