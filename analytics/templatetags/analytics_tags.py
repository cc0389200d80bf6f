"""Formatting filters for the dashboard and the rep actions panel on an asset page."""

from __future__ import annotations

from django import template

from analytics import selectors
from analytics.charts import points_text
from analytics.currency import money_text
from analytics.field_materials import field_credit
from analytics.forms import DEAL_PLACEHOLDER, FEEDBACK_REFUSED, deal_label, picked_deals
from cms.selectors import asset_original

register = template.Library()


@register.filter
def pct(value):
    """0.423 -> "42%"; None (or a missing number) -> "n/a"."""
    return "n/a" if value in (None, "") else f"{float(value) * 100:.0f}%"


register.filter("pts", points_text)  # a difference of proportions in percentage points


@register.filter
def q_text(value):
    """An adjusted p-value to three decimals, below that "< 0.001" (not "0.000", which reads
    as impossible); None -> "not tested"."""
    if value in (None, ""):
        return "not tested"
    return "< 0.001" if float(value) < 0.0005 else f"{float(value):.3f}"


@register.filter
def money(value, currency=""):
    """An amount with its currency code: ``1234.5|money:"USD"`` -> "USD 1,235"; a sum from
    ``analytics.currency.Money`` (a dict) -> "USD 1,200 + EUR 300 (no rate)"."""
    if isinstance(value, dict):
        return money_text(value)
    return f"{currency} {float(value or 0):,.0f}".strip()


VERDICTS = {
    "helps": "▲ helps",
    "hurts": "▼ hurts",
    "no clear effect": "○ no clear effect",
}
HEAT_CLASSES = {"helps": "heat-up", "hurts": "heat-down", "no clear effect": "heat-flat"}


@register.filter
def verdict(numbers):
    """Words (and a symbol) for the stored verdict, so it reads without colour. A verdict
    exists only after the Benjamini-Hochberg correction (``analytics.effectiveness``)."""
    return VERDICTS.get((numbers or {}).get("verdict"), "not enough data")


@register.filter
def heat_class(cell):
    return HEAT_CLASSES.get((cell or {}).get("verdict"), "heat-none")


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)


register.filter("deal_label", deal_label)


@register.inclusion_tag("analytics/_asset_actions_panel.html", takes_context=True)
def asset_actions(context, asset):
    """The rep's panel on an asset page: used in deal, share link, feedback."""
    request = context["request"]
    deals, more_deals = picked_deals(request.user)
    # An alias's page shows its original's credit and links (a link made there is to the
    # original: ``share_link_create``).
    original = asset_original(asset)
    links = selectors.share_links_for(user=request.user, asset_id=original.pk, limit=10)
    session = getattr(request, "session", {})  # a preview's request may have none
    refused = session.pop(FEEDBACK_REFUSED, None)
    if not refused or refused.get("asset") != asset.pk:
        refused = {"kind": "helpful", "text": ""}
    return {
        "asset": asset,
        "field_credit": field_credit(asset=original),
        "deals": deals,
        "deal_placeholder": DEAL_PLACEHOLDER,
        "more_deals": more_deals,
        "feedback": refused,
        "csrf_token": context.get("csrf_token"),
        "share_links": links,
        "back": request.get_full_path(),
    }
