"""My deals: the rep's open deals, and one deal's panel at a stable URL per CRM id that a
CRM can embed in a frame (only from the origins in ``DEAL_EMBED_ORIGINS``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from analytics.deal_panel import deal_for_user, deal_panel, deals_for_rep
from analytics.models import Deal


@login_required
@require_safe
def deal_list(request):
    deals, more_deals = deals_for_rep(user=request.user)
    context = {"deals": deals, "more_deals": more_deals}
    return TemplateResponse(request, "analytics/deals.html", context)


@xframe_options_exempt
@login_required
@require_safe
def deal_detail(request, external_id: str):
    """The deal panel. Framing is decided by CSP ``frame-ancestors`` alone (this site and
    ``DEAL_EMBED_ORIGINS``), so X-Frame-Options is left off this one URL. A HEAD is answered
    as a GET, but its recommendations are not recorded as a search (nobody saw them). With
    search down it is still a 200: the deal and its touches, and a word that recommendations
    are unavailable (``DealPanel.unavailable``)."""
    deal = deal_for_user(user=request.user, external_id=external_id)
    if deal is None:
        raise Http404("No such deal")
    panel = deal_panel(user=request.user, deal=deal, record=request.method != "HEAD")
    context = {
        "deal": deal,
        "panel": panel,
        "is_open": deal.outcome == Deal.Outcome.OPEN,
        # Only the deal's owner acts in it (uses, shares): the deal pickers offer a rep's own
        # deals only, so a lead reading a rep's deal was shown buttons that were then refused.
        "can_act": deal.outcome == Deal.Outcome.OPEN and deal.owner_id == request.user.pk,
        "here": request.get_full_path(),
    }
    response = TemplateResponse(request, "analytics/deal.html", context)
    response["Content-Security-Policy"] = settings.DEAL_EMBED_CSP
    return response
