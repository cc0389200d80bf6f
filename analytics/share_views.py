"""What a buyer sees through a share link: no login, one asset, nothing else.

``analytics.selectors.share_link_for_buyer`` decides on every request whether the link still
opens; every refusal looks the same (the "not available" page, 404), so a guess learns
nothing. The page shows only what is meant for buyers: the title and the buyer description.
A file missing from the store is the buyer's own "not available right now" page (404, nothing
recorded, its owners told: ``cms.missing_files``), never the site's error page, whose links
lead to the sign-in page.
"""

from __future__ import annotations

import logging
import re

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from analytics import selectors, usage
from analytics.models import EventKind
from cms.downloads import StoredFileMissing, stored_file_response
from cms.middleware import STORE_RETRY_SECONDS
from cms.missing_files import asset_file_missing_report
from cms.storage import file_store_down

logger = logging.getLogger(__name__)


def _refused(request):
    return render(request, "analytics/share_invalid.html", status=404)


def share_missing(request):
    """Any other address under /s/ (a token cut short, a mistyped path): the buyer's "not
    available" page. Before, it fell through to the library, which sent the buyer to its
    sign-in page with the token in the address."""
    return _refused(request)


#: The programs that fetch a link to show a preview of it where it was pasted (chat, mail,
#: social sites) or to index it, by the names they give themselves.
#: Apps' own in-app browsers (LinkedInApp, FBAN, Instagram) are people reading, not matched.
#: Programming languages' and tools' HTTP clients are scripts, and a request naming no client
#: at all is no browser. Mail scanners that present a browser's name (Safe Links, Proofpoint)
#: cannot be told from a buyer here.
_NOT_A_READER = re.compile(
    r"bot\b|crawler|spider|preview|slack|facebookexternalhit|whatsapp/|skypeuri|embedly|"
    r"iframely|discordbot|telegrambot|linkedinbot|pinterestbot|ms office|microsoft office|"
    r"curl/|wget/|python-requests|python-urllib|go-http-client|axios/|node-fetch|okhttp|"
    r"^java/|google-pagerenderer|slurp|w3c_validator|headless",
    re.IGNORECASE,
)


def _buyer_reads(request) -> bool:
    """Whether this request is a person outside the company reading the link: not a HEAD (a
    link check), not a preview or crawler, not a signed-in user of the library (the rep
    checking their own link, a colleague). Only those opens notify the rep and count as a
    touch; the others still see the page."""
    if request.method != "GET" or request.user.is_authenticated:
        return False
    agent = request.headers.get("User-Agent", "").strip()
    return bool(agent) and not _NOT_A_READER.search(agent)


@never_cache
def share_open(request, token: str):
    link = selectors.share_link_for_buyer(token)
    if link is None:
        return _refused(request)
    if _buyer_reads(request):
        usage.share_link_opened(link=link)
    return render(
        request, "analytics/share.html", {"link": link, "asset": link.asset, "token": token}
    )


@never_cache
def share_file(request, token: str, asset_id: int):
    link = selectors.share_link_for_buyer(token)
    if link is None or asset_id != link.asset_id:
        return _refused(request)
    asset = link.asset
    if not (asset.document_id and asset.document.file) and not asset.external_url:
        return _refused(request)
    if asset.document_id and asset.document.file:
        try:
            response = stored_file_response(asset.document.file, filename=asset.document.filename)
        except StoredFileMissing as missing:  # nothing was downloaded: nothing is recorded
            asset_file_missing_report(asset=asset, missing=missing, what="file")
            context = {"asset": asset, "token": token}
            return render(request, "analytics/share_unavailable.html", context, status=404)
        except Exception as error:
            if not file_store_down(error):
                raise
            # The buyer's own page, not the library's (whose way back leads to its sign-in).
            logger.warning("file store down on a buyer's download of asset %s: %r", asset.pk, error)
            context = {"asset": asset, "token": token, "later": True}
            response = render(request, "analytics/share_unavailable.html", context, status=503)
            response["Retry-After"] = str(STORE_RETRY_SECONDS)
            return response
    else:
        response = redirect(asset.external_url)
    if _buyer_reads(request):
        usage.usage_record(
            kind=EventKind.DOWNLOADED, asset=asset, deal=link.deal, share_link=link, source="share"
        )
    return response
