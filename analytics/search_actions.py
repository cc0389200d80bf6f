"""What analytics adds to a rep's search results: "used in a deal?" on every card, with the
rep's open deals (``search.results`` asks through the ``search_result_actions`` hook, once
per search, so a page of results costs one query for the deals whatever its size)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from wagtail import hooks

from analytics.forms import DEAL_PLACEHOLDER, deal_choices
from search.results import ACTIONS_HOOK, EMPTY_HOOK, CardAction, EmptyAction, asset_url_maker


@hooks.register(ACTIONS_HOOK)
def used_in_deal_actions(*, user, asset_ids: list[int]) -> dict[int, list[CardAction]]:
    """A "Record use" form per card, choosing one of ``user``'s open deals; none when the
    user has no open deal. Its first choice is the placeholder (empty value: no deal is
    chosen for the rep; ``DEAL_PLACEHOLDER``)."""
    deals = deal_choices(user)
    if not deals:
        return {}
    choices = [("", DEAL_PLACEHOLDER), *deals]
    used_at = asset_url_maker("analytics:asset_used")
    return {
        asset_id: [
            CardAction(
                name="used-deal",
                label="Used in a deal?",
                url=used_at(asset_id),
                field="deal",
                field_label="Deal",
                choices=choices,
                submit="Record use",
            )
        ]
        for asset_id in asset_ids
    }


@hooks.register(EMPTY_HOOK)
def ask_for_it(*, user, query) -> list[EmptyAction]:
    """A search that found nothing: ask marketing for it (the request form, filled in).
    Not for text with no searchable word ("((((", "🚚"): nothing was looked for, so there
    is nothing marketing could write; the page says so instead."""
    if query.unsearchable:
        return []
    params = urlencode({"q": query.text, "source": "search_gap"})
    url = f"{reverse('analytics:requests')}?{params}"
    return [EmptyAction(label=f"Ask marketing for “{query.text}”", url=url)]
