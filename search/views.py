"""The rep search page, suggestions for the search box, and result click-through. The page
renders what ``services.rep_search`` returns (the API serialises the same)."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from search import selectors, services
from search.engines import SearchUnavailable
from search.forms import InvalidSearch
from search.query import audience_for

logger = logging.getLogger(__name__)
UNAVAILABLE = "Search is unavailable right now. The library itself still works; try again soon."


@login_required
@require_GET
def search_page(request):
    try:
        page = services.rep_search(user=request.user, params=request.GET, source="web")
    except InvalidSearch as error:
        context = {"error": str(error), "q": request.GET.get("q", "")}
        return TemplateResponse(request, "search/search_page.html", context, status=400)
    except SearchUnavailable as error:
        logger.warning("search unavailable: %s", error)
        return TemplateResponse(
            request, "search/unavailable.html", {"message": UNAVAILABLE}, status=503
        )
    context = {"search": page, "query": page.query, "q": page.query.text, "keep": page.keep}
    return TemplateResponse(request, "search/search_page.html", context)


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
def click(request, search_key, asset_id: int):
    """Record a result click, then go to the asset (404 when the user may not see it)."""
    try:
        position = int(request.GET.get("pos", "0"))
    except ValueError:
        position = 0
    url = services.search_click_record(
        user=request.user, search_key=search_key, asset_id=asset_id, position=position
    )
    if not url:
        raise Http404("No such asset")
    return HttpResponseRedirect(url)
