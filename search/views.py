"""The rep search page, suggestions for the search box, and result click-through."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from search import selectors, services
from search.engines import SearchUnavailable
from search.forms import InvalidSearch, is_search, query_from_params
from search.query import DEAL_FIELDS, FACETS, audience_for

logger = logging.getLogger(__name__)
UNAVAILABLE = "Search is unavailable right now. The library itself still works; try again soon."


def _link(params, **changes) -> str:
    """The search page's URL for ``params`` with ``changes`` (None removes a key)."""
    data = {key: params.getlist(key) for key in params}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value if isinstance(value, list) else [value]
    pairs = [(key, value) for key, values in data.items() for value in values if value != ""]
    return f"{reverse('search:search')}?{urlencode(pairs)}" if pairs else reverse("search:search")


def _facet_groups(results, query, params) -> list[dict]:
    groups = []
    for name in FACETS:
        buckets = results.facets.get(name, [])
        if not buckets:
            continue
        chosen = list(query.filters.get(name, ()))
        for bucket in buckets:
            if bucket.selected:
                values = [value for value in chosen if value != bucket.value]
            else:
                values = [*chosen, bucket.value]
            bucket.url = _link(params, **{name: values, "page": None, "sid": None})
        groups.append({"name": name, "buckets": buckets})
    return groups


def _deal_options(query) -> list[dict]:
    """The deal-mode form: one select per deal field with the chosen slug marked."""
    labels = selectors.taxonomy_labels()
    return [
        {
            "name": name,
            "param": f"deal_{name}",
            "chosen": getattr(query.deal, name),
            "options": list(labels[name].items()),
        }
        for name in DEAL_FIELDS
    ]


def _unavailable(request, status=503):
    return TemplateResponse(
        request, "search/unavailable.html", {"message": UNAVAILABLE}, status=status
    )


@login_required
@require_GET
def search_page(request):
    try:
        query = query_from_params(request.GET, audience=audience_for(request.user))
    except InvalidSearch as error:
        context = {"error": str(error), "q": request.GET.get("q", "")}
        return TemplateResponse(request, "search/search_page.html", context, status=400)
    try:
        results = selectors.search_run(query=query)
    except SearchUnavailable as error:
        logger.warning("search unavailable: %s", error)
        return _unavailable(request)
    search_id = request.GET.get("sid", "")
    if is_search(query) and (query.page == 1 or not search_id.isdigit()):
        event = services.search_event_record(
            user=request.user, query=query, results=results, source="web"
        )
        search_id = str(event.pk)
    _link_hits(results, query, search_id)
    context = _page_context(request.GET, query, results, search_id)
    return TemplateResponse(request, "search/search_page.html", context)


def _link_hits(results, query, search_id: str) -> None:
    """Result links go through the click recorder when the search was recorded."""
    for position, hit in enumerate(results.hits, start=query.offset + 1):
        hit.link = (
            f"{reverse('search:click', args=[search_id, hit.asset_id])}?pos={position}"
            if search_id.isdigit()
            else hit.fields.get("url", "")
        )


def _page_context(params, query, results, search_id: str) -> dict:
    previous_page = _link(params, page=str(query.page - 1), sid=search_id)
    next_page = _link(params, page=str(query.page + 1), sid=search_id)
    return {
        "query": query,
        "q": query.text,
        "results": results,
        "facet_groups": _facet_groups(results, query, params),
        "deal_options": _deal_options(query),
        "keep": [(f"deal_{name}", slug) for name, slug in query.deal.items()]
        + ([("sort", query.sort)] if query.sort != "relevance" else []),
        "sort_links": {
            sort: _link(params, sort=sort, page=None, sid=None)
            for sort in ("relevance", "newest", "effective")
        },
        "previous_url": previous_page if query.page > 1 else "",
        "next_url": next_page if query.page < results.pages else "",
        "clear_url": _link(params, **{name: None for name in FACETS}, page=None, sid=None),
    }


@require_GET
def suggest(request):
    """JSON for the search box: {"suggestions": [{"kind", "label", "url"}]}."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "sign in to search"}, status=401)
    try:
        suggestions = selectors.search_suggest(
            audience=audience_for(request.user), text=request.GET.get("q", "")
        )
    except SearchUnavailable:
        return JsonResponse({"detail": UNAVAILABLE, "suggestions": []}, status=503)
    data = [{"kind": s.kind, "label": s.label, "url": s.url} for s in suggestions]
    return JsonResponse({"suggestions": data})


@login_required
@require_GET
def click(request, search_id: int, asset_id: int):
    """Record a result click, then go to the asset (404 when the user may not see it)."""
    try:
        position = int(request.GET.get("pos", "0"))
    except ValueError:
        position = 0
    url = services.search_click_record(
        user=request.user, search_id=search_id, asset_id=asset_id, position=position
    )
    if not url:
        raise Http404("No such asset")
    return HttpResponseRedirect(url)
