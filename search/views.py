"""The rep search page, suggestions for the search box, and result click-through. The page
renders what ``services.rep_search`` returns (the API serialises the same).

A request with the header ``X-Search-Partial`` gets only the part of the page a search changes
(``search/_region.html``, a Jinja2 template: ``enablement/jinja2.py``); the full page shows the
same rendering. search.js fetches the partial as the rep types or clicks a facet, and swaps it
in."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from search import selectors, services
from search.engines import SearchUnavailable, retry_after
from search.forms import InvalidSearch
from search.query import audience_for
from search.results import url_at_page

logger = logging.getLogger(__name__)
UNAVAILABLE = "Search is unavailable right now. The library itself still works; try again soon."
PARTIAL_HEADER = "X-Search-Partial"
REFINES_HEADER = "X-Search-Refines"  # the search the rep was typing over (its sid)
REGION = "search/_region.html"


@login_required
@require_safe
def search_page(request):
    partial = PARTIAL_HEADER in request.headers
    q = request.GET.get("q", "")
    try:
        page = services.rep_search(
            user=request.user,
            params=request.GET,
            source="web",
            refines=request.headers.get(REFINES_HEADER),
            record=request.method == "GET",  # a HEAD answers as GET would and records nothing
        )
    except InvalidSearch as error:
        return _respond(request, _failed(str(error), q, error.way_out), partial, status=400)
    except SearchUnavailable as error:
        logger.warning("search unavailable: %s", error)
        if partial:
            response = _respond(request, _failed(UNAVAILABLE, q), partial, status=503)
        else:
            response = TemplateResponse(
                request, "search/unavailable.html", {"message": UNAVAILABLE}, status=503
            )
        response["Retry-After"] = retry_after()
        return response
    context = {"search": page, "query": page.query, "q": page.query.text, "error": None}
    return _respond(request, context, partial, keep=page.keep)


def _failed(message: str, q: str, way_out: tuple[str, str] | None = None) -> dict:
    return {"search": None, "query": None, "q": q, "error": message, "way_out": way_out}


def _respond(request, context: dict, partial: bool, status: int = 200, keep=()):
    """The results region alone or the page around it; the two share a URL, so caches must
    tell them apart."""
    # Fetched results hold a card action's form once: search.js gives a card its copy when
    # it is opened (``CardAction``); without JavaScript every card has its own form.
    context = {**context, "shared_forms": partial}
    if partial:
        response = TemplateResponse(request, REGION, context, status=status)
        add_never_cache_headers(response)
    else:
        region = mark_safe(render_to_string(REGION, context, request=request))  # Jinja2 escaped it
        page = {"region": region, "q": context["q"], "keep": keep}
        response = TemplateResponse(request, "search/search_page.html", page, status=status)
    patch_vary_headers(response, [PARTIAL_HEADER])
    return response


@require_safe
def suggest(request):
    """JSON for the search box: {"suggestions": [{"kind", "label", "url"}]}."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "sign in to search"}, status=401)
    try:
        suggestions = selectors.search_suggest(
            audience=audience_for(request.user), text=request.GET.get("q", "")
        )
    except SearchUnavailable:
        response = JsonResponse({"detail": UNAVAILABLE, "suggestions": []}, status=503)
        response["Retry-After"] = retry_after()
        return response
    except InvalidSearch as error:
        return JsonResponse({"detail": str(error), "suggestions": []}, status=400)
    data = [{"kind": s.kind, "label": s.label, "url": s.url} for s in suggestions]
    return JsonResponse({"suggestions": data})


@login_required
@require_safe
def click(request, search_key, asset_id: int):
    """Record a result click, then go to the asset, at the page asked for if any (404 when
    the user may not see it)."""
    pos = request.GET.get("pos", "")
    position = int(pos) if pos.isdecimal() and len(pos) <= 6 else 0  # a result's place, or 0
    url = services.search_click_record(
        user=request.user,
        search_key=search_key,
        asset_id=asset_id,
        position=position,
        record=request.method == "GET",
    )
    if not url:
        raise Http404("No such asset")
    page = request.GET.get("page", "")
    return HttpResponseRedirect(
        url_at_page(url, int(page)) if page.isdecimal() and len(page) <= 6 else url
    )
