"""``GET /api/v1/search`` and ``GET /api/v1/search/suggest`` (django-ninja; described in the
OpenAPI schema at /api/v1/openapi.json).

Authentication: a browser session, or ``Authorization: Bearer <token>`` with a Wagtail API
token (``manage.py api_tokens create --user <username> --name <label>``, or Wagtail's admin
under Settings > API tokens). Either way the caller's own permissions apply.
``highlight`` and each of ``matches``' highlights are HTML in which only <mark> tags are markup.
"""

from __future__ import annotations

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.security import SessionAuth

from accounts.throttle import BearerTokenAuth
from cms.taxonomy import deal_facets, facets
from search import selectors, services
from search.engines import SearchUnavailable, retry_after
from search.forms import InvalidSearch
from search.query import audience_for
from search.schema import SORTS

PREFIX = "/search"
UNAVAILABLE = "search is unavailable; try again shortly"


router = Router(tags=["search"], auth=[BearerTokenAuth(), SessionAuth()])


def _schema(name: str, fields: dict, doc: str) -> type[Schema]:
    """A django-ninja schema with ``fields`` ({name: (annotation, default)}), so that the
    parameters and result fields follow the taxonomy (``cms.taxonomy``)."""
    namespace = {"__doc__": doc, "__annotations__": {}, "__module__": __name__}
    for field_name, (annotation, default) in fields.items():
        namespace["__annotations__"][field_name] = annotation
        if default is not ...:
            namespace[field_name] = default
    return type(name, (Schema,), namespace)


SearchParams = _schema(
    "SearchParams",
    {
        "q": (str, ""),
        **{item.name: (list[str], []) for item in facets()},
        "sort": (str, Field("relevance", description=f"one of: {', '.join(SORTS)}")),
        # Whole numbers, taken as text so that a bad one gets the same 400 naming it as on
        # the search page (``search.forms``), not a validation error of another shape.
        "page": (str, Field("1", description="a whole number from 1")),
        "per_page": (str, Field("20", description="a whole number from 1 to 50")),
        **{f"deal_{item.name}": (str, "") for item in deal_facets()},
    },
    "Text, facet slugs (repeatable), sort, page and deal mode; see ``search.forms``.",
)


def _unknown_parameter(request, names: list[str]) -> str:
    """What is wrong with the first query parameter the endpoint does not take ("" when
    none): ``stages=decide`` or ``types=deck`` answered the whole library as if filtered."""
    endpoint = f"{request.method} {request.path}"
    for name in request.GET:
        if name not in names:
            return f"{name}: not a parameter of {endpoint}; it takes {', '.join(names)}"
    return ""


class PageMatchOut(Schema):
    """A page of a PDF or a slide of a deck (from 1) where the result matched."""

    page: int
    highlight: str = Field(description="HTML in which only <mark> tags are markup")
    url: str = Field(description="the asset page showing this page")


HitOut = _schema(
    "HitOut",
    {
        "id": (int, ...),
        "title": (str, ...),
        "url": (str, ...),
        "click_url": (str, ...),
        "summary": (str, ...),
        "highlight": (str, ...),
        **{item.result_field: (list[str], ...) for item in facets()},
        "owner": (str, ...),
        "review_by": (str, ...),
        "review_status": (str, ...),
        "effectiveness": (float, ...),
        "thumbnail_url": (str, Field("", description="the asset's preview image, if any")),
        "reasons": (list[str], ...),
        "via_synonym": (bool, Field(description="found only through a synonym of something typed")),
        "synonym_of": (
            list[str],
            Field(description="what was typed that this hit matched through a synonym"),
        ),
        "matches": (
            list[PageMatchOut],
            Field(
                description="up to three pages or slides of the file that match the text, "
                "best first, each with a highlighted snippet"
            ),
        ),
    },
    "One result card.",
)


class FacetOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class OfferOut(Schema):
    label: str
    url: str


class SearchOut(Schema):
    query: str
    total: int
    page: int
    pages: int
    per_page: int
    took_ms: float
    search_id: str | None
    reason: str | None = Field(
        description="why there are no results although text was typed, e.g. no searchable words"
    )
    within_typos: bool = Field(
        description="no asset has the words as typed: these results are within typos of them"
    )
    results: list[HitOut]
    facets: dict[str, list[FacetOut]]
    offers: list[OfferOut] = Field(
        description="what a text search that found nothing offers instead, as the search page "
        "does: first the stage and pillar filters its words name, with how many assets the "
        'caller may open carry each ("Why Buy Now? is a pillar: see its 16 assets"), then '
        "asking marketing for the content"
    )


class SuggestionOut(Schema):
    kind: str
    label: str
    url: str


class SuggestOut(Schema):
    suggestions: list[SuggestionOut]


class ErrorOut(Schema):
    detail: str


def _hit(card) -> dict:
    return {
        "id": card.asset_id,
        "title": card.title,
        "url": card.url,
        "click_url": card.click_url,
        "summary": card.summary,
        "highlight": str(card.highlight),
        **card.terms,
        "owner": card.owner,
        "review_by": card.review_by,
        "review_status": card.review_status,
        "effectiveness": card.effectiveness,
        "thumbnail_url": card.thumbnail_url,
        "reasons": card.reasons,
        "via_synonym": bool(card.synonym_of),
        "synonym_of": card.synonym_of,
        "matches": [
            {"page": match.page, "highlight": str(match.highlight), "url": match.url}
            for match in card.matches
        ],
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
def search(request, response: HttpResponse, params: Query[SearchParams]):
    """Full-text search with facets, sorting, pagination and deal mode. Facet counts and
    results only cover assets the caller may see. Every call is recorded as a search event,
    but a HEAD (an uptime check, say: ``enablement.api.HeadAsGet``). The same service as
    the search page (``search.services.rep_search``)."""
    unknown = _unknown_parameter(request, list(SearchParams.model_fields))
    if unknown:
        return Status(400, {"detail": unknown})
    try:
        page = services.rep_search(
            user=request.user,
            params=params.dict(),
            source="api",
            record=not getattr(request, "answering_head", False),
        )
    except InvalidSearch as error:
        return Status(400, {"detail": str(error)})
    except SearchUnavailable:
        response["Retry-After"] = retry_after()
        return Status(503, {"detail": UNAVAILABLE})
    return Status(
        200,
        {
            "query": page.query.text,
            "total": page.total,
            "page": page.query.page,
            "pages": page.pages,
            "per_page": page.query.per_page,
            "took_ms": round(page.results.took_ms, 3),
            "search_id": page.search_id,
            "reason": page.reason or None,
            "within_typos": page.within_typos,
            "results": [_hit(card) for card in page.cards],
            "facets": _facets(page.results),
            "offers": [{"label": offer.label, "url": offer.url} for offer in page.empty_actions],
        },
    )


@router.get(
    "/suggest", response={200: SuggestOut, 400: ErrorOut, 503: ErrorOut}, summary="Complete a query"
)
def suggest(request, response: HttpResponse, q: str = ""):
    """Asset titles and taxonomy terms the caller may see that complete ``q`` (at most 200
    characters, as for a search)."""
    unknown = _unknown_parameter(request, ["q"])
    if unknown:
        return Status(400, {"detail": unknown})
    try:
        suggestions = selectors.search_suggest(audience=audience_for(request.user), text=q)
    except SearchUnavailable:
        response["Retry-After"] = retry_after()
        return Status(503, {"detail": UNAVAILABLE})
    except InvalidSearch as error:
        return Status(400, {"detail": str(error)})
    return Status(
        200,
        {"suggestions": [{"kind": s.kind, "label": s.label, "url": s.url} for s in suggestions]},
    )
