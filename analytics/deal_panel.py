"""Reads for "My deals": a rep's open deals, and one deal's panel (recommended assets for its
stage, industry, persona and competitors, with reasons; what was already shared or used in
it). The page (``/deals/<external_id>/``, embeddable in a CRM) and the API call the same
``deal_panel`` and only render or serialise it.

Who sees a deal: its owner, and enablement leads; anyone else gets "no such deal", never a
hint that it exists. Recommendations come from ``search.services.rep_search`` in deal mode,
so they obey the same team restrictions as any search by that rep. With search down, the
panel still has the deal and its touches (read from the database): only the recommendations
are missing, and it says so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db.models import Count, Max

from accounts.roles import user_is_enablement_lead
from analytics.forms import picked_deals
from analytics.models import TOUCH_KINDS, Deal, EventKind, UsageEvent
from analytics.selectors import share_links_for
from cms.selectors import assets_for_user, assets_shareable_ids
from cms.taxonomy import Facet, deal_facets
from search.engines import SearchUnavailable
from search.results import RepSearchPage
from search.services import rep_search

logger = logging.getLogger(__name__)

RECOMMENDATIONS = 10
#: Why a panel has no recommendations (``DealPanel.unavailable``), as the page and the API say it.
RECOMMENDATIONS_UNAVAILABLE = (
    "Recommendations are unavailable right now (search is down); try again soon."
)
_SEPARATORS = re.compile(r"[;,\n]")


def deals_for_rep(*, user) -> tuple[list[Deal], bool]:
    """``user``'s own open deals as the pickers list them (``picked_deals``: the most recently
    updated first, the CRM's latest word on top), and whether there are more."""
    if not getattr(user, "is_authenticated", False):
        return [], False
    return picked_deals(user)


def deal_for_user(*, user, external_id: str) -> Deal | None:
    """The deal with this CRM id if ``user`` may see it (their own; a lead: any), else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    deal = Deal.objects.select_related("journey_stage").filter(external_id=external_id).first()
    if deal is None or not (deal.owner_id == user.pk or user_is_enablement_lead(user)):
        return None
    return deal


def _deal_values(deal: Deal, item: Facet) -> list[str]:
    """What the deal says for a deal-mode facet: the journey stage for "stage", a deal
    column of the facet's name ("industry"), else an imported CRM field named like the
    facet ("Competitor", "competitors"), possibly several separated by , or ;."""
    if item.name == "stage":
        return [deal.journey_stage.slug] if deal.journey_stage else []
    names = {item.name, item.label.casefold(), item.plural_label.casefold(), item.relation}
    raw = getattr(deal, item.name, None) if item.name in _DEAL_COLUMNS else None
    if raw is None:
        raw = next(
            (value for key, value in deal.attributes.items() if str(key).casefold() in names),
            "",
        )
    return [value.strip() for value in _SEPARATORS.split(str(raw or "")) if value.strip()]


_DEAL_COLUMNS = {field.name for field in Deal._meta.get_fields()}


def deal_search_terms(deal: Deal) -> list[tuple[Facet, object]]:
    """The terms deal mode ranks ``deal``'s recommendations for, one per deal-mode facet at
    most: the first of the deal's values that names a term by slug, name or one of its CRM
    names (industries, personas and competitors: ``crm_names``), compared casefolded. Values
    that name no term are left out rather than guessed."""
    found = []
    for item in deal_facets():
        values = _deal_values(deal, item)
        if not values:
            continue
        terms = _terms_by_deal_value(item)
        term = next((terms[v.casefold()] for v in values if v.casefold() in terms), None)
        if term is not None:
            found.append((item, term))
    return found


def deal_search_params(deal: Deal) -> dict[str, str]:
    """Deal mode's parameters (``deal_<facet>``: a term slug) for ``deal_search_terms``."""
    return _params(deal_search_terms(deal))


def _params(terms: list[tuple[Facet, object]]) -> dict[str, str]:
    return {f"deal_{item.name}": term.slug for item, term in terms}


def _terms_by_deal_value(item: Facet) -> dict:
    """A facet's terms by every casefolded value a deal may name them by: slug and name
    first, then CRM names (which the term forms keep apart from other terms' names, slugs
    and CRM names, so the order only matters for rows saved around the forms)."""
    terms = list(item.term_model.objects.all())
    found = {}
    for term in terms:
        found.setdefault(term.slug.casefold(), term)
        found.setdefault(term.name.casefold(), term)
    for term in terms:
        for name in getattr(term, "crm_name_list", list)():
            found.setdefault(name.casefold(), term)
    return found


@dataclass(frozen=True)
class TouchRow:
    """One asset and kind of touch in a deal: how often, and the latest."""

    asset_id: int
    title: str
    kind: str  # as people read it ("Opened by buyer")
    kind_code: str  # as the API and events name it ("buyer_opened")
    times: int
    last: object


@dataclass(frozen=True)
class Recommendation:
    """A recommended asset as the deal page shows it: what was already done with it in this
    deal (so a rep does not share it twice unawares) and the reader's open link to it for
    this deal, if any (the page offers that link instead of making another)."""

    card: object  # a ``search.results`` card
    touched: list[TouchRow]
    link: object | None


@dataclass
class DealPanel:
    deal: Deal
    params: dict[str, str]  # the deal mode the recommendations were ranked for
    recommendations: RepSearchPage | None  # None: search is down (``unavailable`` says so)
    touches: list[UsageEvent]  # shared, used, presented, opened: newest first
    shareable: set[int]  # the recommended assets that may go to buyers
    touch_rows: list[TouchRow]  # the page's list: one row per asset and kind, latest first
    ranked_for: list[tuple[str, str]]  # (facet label, term name) deal mode ranked for
    links: list  # the reader's share links in this deal (``share_links_for``), newest first
    unavailable: str = ""  # why there are no recommendations, else ""

    @property
    def recommended(self) -> list[Recommendation]:
        cards = self.recommendations.cards if self.recommendations is not None else []
        touched: dict[int, list[TouchRow]] = {}
        for row in self.touch_rows:
            touched.setdefault(row.asset_id, []).append(row)
        open_links: dict[int, object] = {}
        for link in self.links:  # newest first: the newest open link of each asset
            if link.state == "active" and link.token:
                open_links.setdefault(link.asset_id, link)
        return [
            Recommendation(card, touched.get(card.asset_id, []), open_links.get(card.asset_id))
            for card in cards
        ]


def touch_rows(touches) -> list[TouchRow]:
    """``touches`` (a ``deal_touches`` queryset) as one row per asset and kind of touch, latest
    first: four "used in deal" of one deck are one row saying 4 times, not four rows."""
    grouped = (
        touches.order_by()
        .values("asset_id", "asset__title", "kind")
        .annotate(times=Count("id"), last=Max("occurred_at"))
        .order_by("-last", "asset_id", "kind")
    )
    return [
        TouchRow(
            asset_id=row["asset_id"],
            title=row["asset__title"],
            kind=EventKind(row["kind"]).label,
            kind_code=row["kind"],
            times=row["times"],
            last=row["last"],
        )
        for row in grouped
    ]


def deal_panel(*, user, deal: Deal, source: str = "deal", record: bool = True) -> DealPanel:
    """Everything the deal panel shows for ``deal`` (which the caller checked ``user`` may
    see); its recommendations are recorded as a search unless ``record`` is false. With the
    engine down (``SearchUnavailable``) the panel has no recommendations and says why in
    ``unavailable``, but keeps the deal's touches, which need no search: the rep must still
    see what was already shared or used in the deal."""
    terms = deal_search_terms(deal)
    params = _params(terms)
    touches = deal_touches(user=user, deal=deal)
    asked = {**params, "per_page": str(RECOMMENDATIONS)}
    try:
        page = rep_search(user=user, params=asked, source=source, record=record)
    except SearchUnavailable as error:
        logger.warning("deal panel without recommendations: %s", error)
        page, unavailable = None, RECOMMENDATIONS_UNAVAILABLE
    else:
        unavailable = ""
    cards = page.cards if page is not None else []
    return DealPanel(
        deal=deal,
        params=params,
        recommendations=page,
        touches=list(touches[:50]),
        shareable=assets_shareable_ids(card.asset_id for card in cards),
        touch_rows=touch_rows(touches),
        ranked_for=[(item.label, term.name) for item, term in terms],
        links=share_links_for(user=user, deal=deal),
        unavailable=unavailable,
    )


def deal_touches(*, user, deal: Deal):
    """The deal's touch events on assets ``user`` may see, newest first."""
    visible = assets_for_user(user).values("pk")
    return (
        UsageEvent.objects.filter(deal=deal, kind__in=TOUCH_KINDS, asset__in=visible)
        .select_related("asset", "user")
        .order_by("-occurred_at")
    )
