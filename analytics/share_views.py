"""What a buyer sees through a share link: no login, one asset, nothing else.

``analytics.selectors.share_link_for_buyer`` decides on every request whether the link still
opens; every refusal looks the same (the "not available" page, 404), so a guess learns
nothing. The page shows only what is meant for buyers: the title and the buyer description.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from analytics import selectors, services
from analytics.models import EventKind
from cms.downloads import stored_file_response


def _refused(request):
    return render(request, "analytics/share_invalid.html", status=404)


@never_cache
def share_open(request, token: str):
    link = selectors.share_link_for_buyer(token)
    if link is None:
        return _refused(request)
    services.share_link_opened(link=link)
    return render(
        request, "analytics/share.html", {"link": link, "asset": link.asset, "token": token}
    )


@never_cache
def share_file(request, token: str, asset_id: int):
    link = selectors.share_link_for_buyer(token)
    if link is None or asset_id != link.asset_id:
        return _refused(request)
    asset = link.asset
    if asset.document_id and asset.document.file:
        services.usage_record(
            kind=EventKind.DOWNLOADED, asset=asset, deal=link.deal, share_link=link, source="share"
        )
        return stored_file_response(asset.document.file, filename=asset.document.filename)
    if asset.external_url:
        services.usage_record(
            kind=EventKind.DOWNLOADED, asset=asset, deal=link.deal, share_link=link, source="share"
        )
        return redirect(asset.external_url)
    return _refused(request)
