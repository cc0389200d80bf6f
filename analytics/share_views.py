"""What a buyer sees through a share link: no login, one asset, nothing else.

``analytics.selectors.share_link_for_buyer`` decides on every request whether the link still
opens; every refusal looks the same (the "not available" page, 404), so a guess learns
nothing. The page shows only what is meant for buyers: the title, the buyer description,
who sent the link and from which company, and a picture of the first page of a PDF, so that a
buyer opening an unfamiliar link can tell it is genuine.
A file missing from the store is the buyer's own "not available right now" page (404, nothing
recorded, its owners told: ``cms.missing_files``), never the site's error page, whose links
lead to the sign-in page. For the same reason a database that cannot be reached is the
buyer's own "try again in a few minutes" page (503), not the library's error page.
"""

from __future__ import annotations

import functools
import logging
import re

from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from wagtail.models import Site

from accounts.people import person_name_from
from analytics import selectors, usage
from analytics.models import EventKind
from cms.documents import page_preview_png
from cms.downloads import StoredFileMissing, document_download_name, stored_file_response
from cms.extraction import ExtractionError
from cms.middleware import STORE_RETRY_SECONDS, database_busy, database_unreachable
from cms.missing_files import asset_file_missing_report
from cms.selectors import asset_page_of_file
from cms.storage import file_store_down

logger = logging.getLogger(__name__)

#: How long a buyer is asked to wait when the database cannot be reached.
DATABASE_RETRY_SECONDS = 300


def _refused(request):
    return render(request, "analytics/share_invalid.html", status=404)


def _calm_when_database_down(view):
    """A buyer's request that cannot reach the database answers the buyer's own page, 503
    with Retry-After, saying to try again in a few minutes. The library's error page would
    offer "Back to the library", which a buyer cannot open. The page is rendered without the
    request: the context processors (the rep's bell, roles) would read the database again.
    A busy or unreachable database (``cms.middleware``) is a warning; any other
    OperationalError is logged with its traceback, since it can also be a schema out of date
    rather than a server away."""

    @functools.wraps(view)
    def calm(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except OperationalError as error:
            if database_busy(error) or database_unreachable(error):
                logger.warning("database unavailable on a buyer's %s: %s", request.path, error)
            else:
                logger.exception("database unreachable on a buyer's %s", request.path)
            page = render_to_string("analytics/share_down.html")
            response = HttpResponse(page, status=503)
            response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
            return response

    return calm


def _shared_asset_link(token: str, asset_id: int):
    """The link ``token`` opens when it opens ``asset_id``, else None: the one check for
    everything served under a link's asset (its file, its first page), so that a revoked,
    expired or mistyped token or another asset's id all get the same refusal."""
    link = selectors.share_link_for_buyer(token)
    if link is None or asset_id != link.asset_id:
        return None
    return link


def _sender_name(link) -> str:
    """Who sent the link, as the buyer may read it: the rep's full name, or "" when they
    have none. Never the username: it is a sign-in name (half of what the public sign-in
    page asks for) and often a handle like "user12" that tells a buyer nothing."""
    rep = link.created_by
    return person_name_from(first_name=rep.first_name, last_name=rep.last_name, username=None)


def _company_name(request) -> str:
    """The name the library goes by: the Wagtail site's name (Settings > Sites in the admin,
    first set from ``SITE_NAME``), else ``SITE_NAME`` itself."""
    site = Site.find_for_request(request)
    return (site.site_name if site else "") or settings.WAGTAIL_SITE_NAME


def _first_page_png(asset) -> bytes | None:
    """A PNG of page 1 of the asset's file, or None when there is none to show: not a PDF,
    not processed (so there is no page 1 known), or it cannot be drawn or read now. The
    reps' page previews' drawing (``cms.documents.page_preview_png``), from the cache once
    drawn, so the browser's request for the picture finds it drawn already."""
    document = asset.document
    page = asset_page_of_file(asset, 1) if document is not None else None
    if page is None or not page.previewable:
        return None
    try:
        return page_preview_png(document, 1)
    except ExtractionError:
        return None
    except Exception as error:
        if not file_store_down(error):
            raise
        logger.warning("file store down on a buyer's preview of asset %s: %r", asset.pk, error)
        return None


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
@_calm_when_database_down
def share_open(request, token: str):
    """The buyer's page. The first page's picture is drawn here, before the page is sent,
    so the page shows an image only when there is one (never a broken image)."""
    link = selectors.share_link_for_buyer(token)
    if link is None:
        return _refused(request)
    if _buyer_reads(request):
        usage.share_link_opened(link=link)
    context = {
        "link": link,
        "asset": link.asset,
        "token": token,
        "sender": _sender_name(link),
        "company": _company_name(request),
        "preview": _first_page_png(link.asset) is not None,
    }
    return render(request, "analytics/share.html", context)


@never_cache
@_calm_when_database_down
def share_preview(request, token: str, asset_id: int):
    """The picture of the first page, under the same check as the file and kept by no cache
    either (a revoked link stops showing it at once). Records nothing: the buyer's open was
    recorded with the page, and seeing a picture is no download."""
    link = _shared_asset_link(token, asset_id)
    png = _first_page_png(link.asset) if link is not None else None
    if png is None:
        return _refused(request)
    response = HttpResponse(png, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@_calm_when_database_down
def share_file(request, token: str, asset_id: int):
    link = _shared_asset_link(token, asset_id)
    if link is None:
        return _refused(request)
    asset = link.asset
    if not (asset.document_id and asset.document.file) and not asset.external_url:
        return _refused(request)
    if asset.document_id and asset.document.file:
        try:
            response = stored_file_response(
                asset.document.file, filename=document_download_name(asset.document)
            )
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
