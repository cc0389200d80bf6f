"""Server-rendered SVG charts. Every mark carries its number as text, so a chart reads
without colour; shapes (dot, whiskers, dashed zero line, hatching) separate series.

Each chart is followed by its numbers as a table in a closed ``<details>`` ("Show the
numbers"): a screen reader gets no values from an SVG drawn with ``role="img"`` (its text is
hidden behind the image's name) or from ``<title>`` tooltips, and a reader who zooms or cannot
see the bars gets them in rows (WCAG 1.1.1)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def points_text(value: float | None) -> str:
    """A difference of proportions in percentage points: 0.12 -> "+12 pts", 0.01 -> "+1 pt".
    Under half a point
    it keeps a decimal (-0.003 -> "-0.3 pts"), so an interval that stops just short of zero
    does not end at "-0 pts", as if it held it."""
    if value is None or value == "":
        return "n/a"
    points = float(value) * 100
    if abs(points) < 0.05:
        return "0 pts"
    number = f"{points:+.1f}" if abs(points) < 0.5 else f"{points:+.0f}"
    return f"{number} pt" if number in {"+1", "-1"} else f"{number} pts"


def effect_rows(numbers: dict) -> list[tuple[str, float | None, float | None, float | None]]:
    """The comparisons of one asset as (label, estimate, low, high): the stratified effect
    (the headline), its parts per segment and per stage, then the stage-matched and raw
    comparisons earlier versions showed (raw has no interval)."""
    rows = [
        (
            "Stratified effect",
            numbers.get("effect"),
            numbers.get("effect_ci_low"),
            numbers.get("effect_ci_high"),
        )
    ]
    for part in numbers.get("segments") or []:
        rows.append((f"Segment {part['segment']}", part["effect"], part["low"], part["high"]))
    for part in numbers.get("stages") or []:
        rows.append((f"First used in {part['stage']}", part["effect"], part["low"], part["high"]))
    rows.append(
        (
            "Stage-matched (earlier)",
            numbers.get("stage_matched_lift"),
            numbers.get("stage_matched_lift_ci_low"),
            numbers.get("stage_matched_lift_ci_high"),
        )
    )
    rows.append(("Raw: used vs not", numbers.get("raw_lift"), None, None))
    return rows


def data_table(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    """A chart's numbers as an escaped table inside a closed ``<details>``: the first column
    heads its row, the others hold the values."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        f'<tr><th scope="row">{escape(row[0])}</th>'
        + "".join(f'<td class="num">{escape(cell)}</td>' for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    return (
        '<details class="chart-data"><summary>Show the numbers</summary>'
        '<div class="table-scroll" tabindex="0" role="region" '
        f'aria-label="{escape(caption)}"><table class="data-table">'
        f"<caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div></details>"
    )


def _kept(text: str) -> str:
    """A number and its unit held together ("+16 pts", "USD 1,200") by no-break spaces, so a
    narrow table cell wraps between values, never between a number and its unit."""
    return text.replace(" ", "\u00a0")


def _anchor(position: float, left: float, span: float) -> str:
    """Labels near either end of the axis grow inwards, so none runs off the chart."""
    if position > left + 0.75 * span:
        return "end"
    if position < left + 0.25 * span:
        return "start"
    return "middle"


def interval_chart(numbers: dict, *, width: int = 640) -> SafeString:
    """Every comparison of an asset as a dot with its 95% interval (whiskers) on one -100..+100
    point axis with a dashed zero line, each labelled with its numbers (a forest plot)."""
    rows = effect_rows(numbers)
    left, right = 190, width - 20
    span = right - left
    height = 30 * len(rows) + 40

    def x(value: float) -> float:
        return left + (max(-1.0, min(1.0, value)) + 1) / 2 * span

    headline = rows[0]
    parts = [
        f'<svg class="chart interval-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="interval-title">',
        '<title id="interval-title">'
        + escape(
            f"Stratified effect {points_text(headline[1])} (95% interval "
            f"{points_text(headline[2])} to {points_text(headline[3])}); "
            + "; ".join(_interval_text(label, *values) for label, *values in rows[1:])
        )
        + "</title>",
        f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 30}" class="zero"/>',
    ]
    for index, (label, value, low, high) in enumerate(rows):
        y = 20 + index * 30
        parts.append(f'<text x="0" y="{y + 4}" class="label">{escape(label)}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" class="axis faint"/>')
        if value is None:
            parts.append(
                f'<text x="{x(0) + 8:.1f}" y="{y - 6}" class="value">not enough data</text>'
            )
            continue
        text = points_text(value)
        if low is not None and high is not None:
            parts += [
                f'<line x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" class="whisker"/>',
                f'<line x1="{x(low):.1f}" y1="{y - 6}" x2="{x(low):.1f}" y2="{y + 6}" '
                'class="whisker"/>',
                f'<line x1="{x(high):.1f}" y1="{y - 6}" x2="{x(high):.1f}" y2="{y + 6}" '
                'class="whisker"/>',
            ]
            text += f" ({points_text(low)} to {points_text(high)})"
        parts.append(f'<circle cx="{x(value):.1f}" cy="{y}" r="5" class="point"/>')
        parts.append(
            f'<text x="{x(value):.1f}" y="{y - 9}" class="value" '
            f'text-anchor="{_anchor(x(value), left, span)}">{escape(text)}</text>'
        )
    axis_y = height - 24
    parts += [
        f'<text x="{left}" y="{axis_y + 14}" class="tick">-100</text>',
        f'<text x="{x(0):.1f}" y="{axis_y + 14}" class="tick" text-anchor="middle">0</text>',
        f'<text x="{right}" y="{axis_y + 14}" class="tick" text-anchor="end">+100 pts</text>',
        "</svg>",
    ]
    table = data_table(
        "Every comparison: effect on the win rate in percentage points, with its 95% interval",
        ["Comparison", "Effect", "95% interval"],
        [
            [
                label,
                _kept(points_text(value)) if value is not None else "not enough data",
                f"{_kept(points_text(low))} to {_kept(points_text(high))}"
                if value is not None and low is not None and high is not None
                else "none",
            ]
            for label, value, low, high in rows
        ],
    )
    parts.append(table)
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _interval_text(label: str, value: float | None, low: float | None, high: float | None) -> str:
    """One comparison in words, for the chart's accessible name."""
    if value is None:
        return f"{label} not enough data"
    if low is None or high is None:
        return f"{label} {points_text(value)}"
    return f"{label} {points_text(value)} ({points_text(low)} to {points_text(high)})"


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
    parts.append(
        data_table(
            "Events per week",
            ["Week of", "Touches of deals", "Rep views and downloads"],
            [[str(week), str(touches), str(own)] for week, touches, own in totals],
        )
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
    currency = numbers.get("currency") or ""
    top = max(value for _, value in values) or 1.0
    left, span = 110, width - 230
    parts = [
        f'<svg class="chart attribution-chart" role="img" viewBox="0 0 {width} 160" '
        f'width="100%"><title>Attributed revenue by model ({escape(currency)})</title>'
    ]
    for row, (label, value) in enumerate(values):
        y = 8 + row * 30
        bar = value / top * span
        parts.append(
            f'<text x="0" y="{y + 15}" class="label">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{bar:.1f}" height="20" class="bar-used"/>'
            f'<text x="{left + bar + 6:.1f}" y="{y + 15}" class="value">'
            f"{escape(currency)} {value:,.0f}</text>"
        )
    parts.append("</svg>")
    parts.append(
        data_table(
            f"Attributed revenue by model ({currency})"
            if currency
            else "Attributed revenue by model",
            ["Model", "Attributed revenue"],
            [[label, _kept(f"{currency} {value:,.0f}".strip())] for label, value in values],
        )
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
