"""Formatting filters for the dashboard and the rep actions panel on an asset page."""

from __future__ import annotations

from django import template

from analytics import selectors
from analytics.forms import DealForm, FeedbackForm

register = template.Library()


@register.filter
def pct(value):
    """0.423 -> "42%"; None (or a missing number) -> "n/a"."""
    return "n/a" if value in (None, "") else f"{float(value) * 100:.0f}%"


@register.filter
def pts(value):
    """A difference of proportions in percentage points: 0.12 -> "+12 pts"."""
    return "n/a" if value in (None, "") else f"{float(value) * 100:+.0f} pts"


@register.filter
def money(value):
    return f"{float(value or 0):,.0f}"


@register.filter
def verdict(numbers):
    """Words (and a symbol) for an effectiveness result, so it reads without colour."""
    if not numbers or not numbers.get("enough_data"):
        return "not enough data"
    low, high = numbers.get("lift_ci_low"), numbers.get("lift_ci_high")
    if low is not None and low > 0:
        return "▲ helps"
    if high is not None and high < 0:
        return "▼ hurts"
    return "○ no clear effect"


@register.inclusion_tag("analytics/_asset_actions_panel.html", takes_context=True)
def asset_actions(context, asset):
    """The rep's panel on an asset page: used in deal, share link, feedback."""
    request = context["request"]
    deals = DealForm(user=request.user).fields["deal"].queryset
    links = selectors.share_links_for(user=request.user, asset_id=asset.pk, limit=10)
    for link in links:
        link.url = request.build_absolute_uri(f"/s/{link.token}/") if link.token else ""
    return {
        "asset": asset,
        "deals": deals,
        "feedback_form": FeedbackForm(),
        "csrf_token": context.get("csrf_token"),
        "share_links": links,
        "back": request.get_full_path(),
    }
