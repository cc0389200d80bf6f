"""What a buyer sees through a share link: no login, one asset, nothing else.

A link opens only while it is unexpired, unrevoked and its asset is live; it serves only its
own asset's file. Every refusal looks the same (404), so a guess learns nothing.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from analytics import services
from analytics.models import EventKind, ShareLink
from cms.downloads import stored_file_response
from cms.selectors import asset_is_live


def _valid_link(token: str) -> ShareLink:
    link = (
        ShareLink.objects.select_related("asset", "deal")
        .filter(token_hash=services.token_digest(token))
        .first()
    )
    if (
        link is None
        or link.revoked_at is not None
        or link.expires_at <= timezone.now()
        or not asset_is_live(link.asset)
    ):
        raise Http404("This link is not valid.")
    return link


def _refused(request):
    return render(request, "analytics/share_invalid.html", status=404)


@never_cache
def share_open(request, token: str):
    try:
        link = _valid_link(token)
    except Http404:
        return _refused(request)
    services.usage_record(
        kind=EventKind.BUYER_OPENED,
        asset=link.asset,
        deal=link.deal,
        share_link=link,
        source="share",
    )
    return render(
        request, "analytics/share.html", {"link": link, "asset": link.asset, "token": token}
    )


@never_cache
def share_file(request, token: str, asset_id: int):
    try:
        link = _valid_link(token)
    except Http404:
        return _refused(request)
    if asset_id != link.asset_id:
        return _refused(request)
    asset = link.asset
    services.usage_record(
        kind=EventKind.DOWNLOADED, asset=asset, deal=link.deal, share_link=link, source="share"
    )
    if asset.document_id:
        document = asset.document
        return stored_file_response(document.file, filename=document.filename)
    if asset.external_url:
        return redirect(asset.external_url)
    return _refused(request)
