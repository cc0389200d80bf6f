"""``GET /api/v1/search`` and ``GET /api/v1/search/suggest`` (django-ninja; described in the
OpenAPI schema at /api/v1/openapi.json).

Authentication: a browser session, or ``Authorization: Bearer <token>`` with a Wagtail API
token (``manage.py api_tokens create --user <username> --name <label>``, or Wagtail's admin
under Settings > API tokens). Either way the caller's own permissions apply.
``highlight`` is HTML in which only <mark> tags are markup.
"""

from __future__ import annotations

from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.security import SessionAuth

from accounts.throttle import BearerTokenAuth
from search import selectors, services
from search.engines import SearchUnavailable
from search.forms import InvalidSearch, is_search, query_from_params
from search.query import SORTS, audience_for

PREFIX = "/search"
UNAVAILABLE = "search is unavailable; try again shortly"


router = Router(tags=["search"], auth=[BearerTokenAuth(), SessionAuth()])


class SearchParams(Schema):
    q: str = ""
    stage: list[str] = []
    pillar: list[str] = []
    type: list[str] = []
    product: list[str] = []
    industry: list[str] = []
    persona: list[str] = []
    competitor: list[str] = []
    sort: str = Field("relevance", description=f"one of: {', '.join(SORTS)}")
    page: int = 1
    per_page: int = 20
    deal_stage: str = ""
    deal_pillar: str = ""
    deal_industry: str = ""
    deal_persona: str = ""
    deal_competitor: str = ""


class HitOut(Schema):
    id: int
    title: str
    url: str
    click_url: str
    summary: str
    highlight: str
    type: list[str]
    stages: list[str]
    pillars: list[str]
    products: list[str]
    industries: list[str]
    personas: list[str]
    competitors: list[str]
    owner: str
    review_by: str
    review_status: str
    effectiveness: float
    reasons: list[str]
    via_synonym: bool = Field(description="found only through a synonym of something typed")
    synonym_of: list[str] = Field(
        description="what was typed that this hit matched through a synonym"
    )
    score: float


class FacetOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class SearchOut(Schema):
    query: str
    total: int
    page: int
    pages: int
    per_page: int
    took_ms: float
    search_id: int | None
    reason: str | None = Field(
        description="why there are no results although text was typed, e.g. no searchable words"
    )
    results: list[HitOut]
    facets: dict[str, list[FacetOut]]


class SuggestionOut(Schema):
    kind: str
    label: str
    url: str


class SuggestOut(Schema):
    suggestions: list[SuggestionOut]


class ErrorOut(Schema):
    detail: str


def _hit(hit, search_id: int | None, position: int) -> dict:
    fields = hit.fields
    click = ""
    if search_id is not None:
        click = f"{reverse('search:click', args=[search_id, hit.asset_id])}?pos={position}"
    return {
        "id": hit.asset_id,
        "title": fields["title"],
        "url": fields.get("url", ""),
        "click_url": click,
        "summary": fields.get("summary", ""),
        "highlight": str(hit.highlight),
        "type": fields.get("asset_type", []),
        **{name: fields.get(name, []) for name in ("stages", "pillars", "products")},
        **{name: fields.get(name, []) for name in ("industries", "personas", "competitors")},
        "owner": fields.get("owner", ""),
        "review_by": fields.get("review_by", ""),
        "review_status": hit.review_status,
        "effectiveness": fields.get("effectiveness", 0.0),
        "reasons": hit.reasons,
        "via_synonym": bool(hit.synonym_of),
        "synonym_of": hit.synonym_of,
        "score": hit.score,
    }


def _facets(results) -> dict:
    return {
        name: [
            {"value": b.value, "label": b.label, "count": b.count, "selected": b.selected}
            for b in buckets
        ]
        for name, buckets in results.facets.items()
    }


@router.get(
    "",
    response={200: SearchOut, 400: ErrorOut, 503: ErrorOut},
    summary="Search the assets the caller may see",
)
def search(request, params: Query[SearchParams]):
    """Full-text search with facets, sorting, pagination and deal mode. Facet counts and
    results only cover assets the caller may see. Every call is recorded as a search event."""
    try:
        query = query_from_params(params.dict(), audience=audience_for(request.user))
    except InvalidSearch as error:
        return Status(400, {"detail": str(error)})
    try:
        results = selectors.search_run(query=query)
    except SearchUnavailable:
        return Status(503, {"detail": UNAVAILABLE})
    search_id = None
    if is_search(query):
        event = services.search_event_record(
            user=request.user, query=query, results=results, source="api"
        )
        search_id = event.pk
    hits = [
        _hit(hit, search_id, position)
        for position, hit in enumerate(results.hits, start=query.offset + 1)
    ]
    return Status(
        200,
        {
            "query": query.text,
            "total": results.total,
            "page": query.page,
            "pages": results.pages,
            "per_page": query.per_page,
            "took_ms": round(results.took_ms, 3),
            "search_id": search_id,
            "reason": results.reason or None,
            "results": hits,
            "facets": _facets(results),
        },
    )


@router.get("/suggest", response={200: SuggestOut, 503: ErrorOut}, summary="Complete a query")
def suggest(request, q: str = ""):
    """Asset titles and taxonomy terms the caller may see that complete ``q``."""
    try:
        suggestions = selectors.search_suggest(audience=audience_for(request.user), text=q)
    except SearchUnavailable:
        return Status(503, {"detail": UNAVAILABLE})
    return Status(
        200,
        {"suggestions": [{"kind": s.kind, "label": s.label, "url": s.url} for s in suggestions]},
    )
