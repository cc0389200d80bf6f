"""Rep-facing library views: the library home, section listings, the asset page (at one page
of its file with ``?page=N``), downloads, thumbnails and page previews; and the renditions of
Wagtail images the admin shows content managers (``image_rendition``).

Every view asks ``cms.selectors`` what the user may see; an asset the user may not see is a
404, never a 403, so its existence does not leak.
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag, urlencode
from django.views.decorators.http import require_safe
from wagtail import views as wagtail_views
from wagtail.images import get_image_model
from wagtail.images.exceptions import InvalidFilterSpecError
from wagtail.models import Page, PageViewRestriction
from wagtail.permissions import policy_registry

from accounts.roles import user_manages_content
from cms import selectors
from cms.documents import page_preview_key, page_preview_png
from cms.downloads import StoredFileMissing, document_download_name, stored_file_response
from cms.extraction import ExtractionError
from cms.images import image_pixel_limit, image_too_large
from cms.missing_files import asset_file_missing_report
from cms.models import AssetPage, LibraryPage
from cms.signals import asset_downloaded, asset_viewed
from cms.storage import file_missing
from cms.taxonomy import asset_terms, card_facets, facets

logger = logging.getLogger(__name__)
ASSETS_PER_PAGE = 24
THUMBNAIL_SPEC = "max-640x400"
# The selects of a listing's filter form (``cms.taxonomy``: ``listing_form``), in order.
FILTER_FORM = tuple(item for item in facets() if item.listing_form)
# Relations an asset card's chips read (``cms.taxonomy.card_facets``), loaded with the page.
CARD_RELATIONS = tuple(item.relation for item in card_facets())


def _chips(asset: AssetPage) -> list[tuple[str, list[str]]]:
    """(facet name, term names) of the facets a card shows, in card order."""
    return [(item.name, [str(t) for t in asset_terms(asset, item)]) for item in card_facets()]


def _placement(asset: AssetPage) -> list[tuple[str, list[str]]]:
    """(plural label, term names) of the other facets, in display order, for the asset page."""
    shown = set(CARD_RELATIONS)
    return [
        (item.plural_label, [str(term) for term in asset_terms(asset, item)])
        for item in facets()
        if item.relation not in shown
    ]


def _is_manager_preview(request) -> bool:
    return getattr(request, "is_preview", False) and user_manages_content(request.user)


def _requested_filters(request) -> dict[str, list[str]]:
    """The taxonomy filters in the query string: {name: [slug, ...]} for names that are set."""
    filters = {}
    for name in selectors.ASSET_FILTERS:
        slugs = [slug.strip() for slug in request.GET.getlist(name) if slug.strip()]
        if slugs:
            filters[name] = list(dict.fromkeys(slugs))
    return filters


def _filter_form(filters: dict[str, list[str]]) -> list[dict]:
    return [
        {
            "name": item.name,
            "label": item.label,
            "options": item.term_model.objects.all(),
            "selected": filters.get(item.name),
        }
        for item in FILTER_FORM
    ]


def _grid_links(grid: list[dict], filters: dict[str, list[str]]) -> list[dict]:
    """Give each grid cell the query string of the listing filtered to that cell, keeping the
    type/product/industry filters in force."""
    kept = [(k, v) for k, slugs in filters.items() if k not in ("stage", "pillar") for v in slugs]
    for row in grid:
        for cell in row["cells"]:
            stage, pillar = cell["stage"].slug, cell["pillar"].slug
            cell["query"] = urlencode(kept + [("stage", stage), ("pillar", pillar)])
            cell["selected"] = filters.get("stage") == [stage] and filters.get("pillar") == [pillar]
    return grid


@login_required
def home(request):
    """Send a signed-in user to the library home (created by ``migrate``)."""
    library = LibraryPage.objects.live().order_by("depth", "path").first()
    if library is None:
        raise Http404("The library has not been published yet.")
    return redirect(library.url)


def authenticate_with_password(request, page_view_restriction_id: int, page_id: int):
    """Wagtail's password form for a private page (GET) and its answer (POST), at Wagtail's
    own URL, for those who may open both the page and the page the password is set on
    (``selectors.page_visible_to``): content managers. Anyone else, a rep above all (a
    private page admits no team), gets the 404 of ids that do not exist whether they exist
    or not, and a right password does nothing for them."""
    restriction = PageViewRestriction.objects.filter(pk=page_view_restriction_id).first()
    page = Page.objects.filter(pk=page_id).first()
    if restriction is None or page is None:
        raise Http404
    if not request.user.is_authenticated:
        raise Http404
    if not all(selectors.page_visible_to(request.user, p) for p in (restriction.page, page)):
        raise Http404
    return wagtail_views.authenticate_with_password(request, page_view_restriction_id, page_id)


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico where a response names no icon (an HTML fragment opened on
    its own, a download): the site's icon, not a 404."""
    return redirect(static("enablement/icon.svg"), permanent=True)


def library_page_serve(request, *, page):
    """A library section: search box, stage x pillar grid, filters, sub-sections, asset cards.

    Grid counts follow the type/product/industry filters but not stage/pillar (the grid is how
    a rep picks those); the listing follows all of them.
    """
    if not _is_manager_preview(request) and not selectors.section_visible_to(request.user, page):
        raise Http404("No such library section")
    filters = _requested_filters(request)
    unknown = selectors.taxonomy_unknown_slugs(filters)
    filters = {
        name: [slug for slug in slugs if slug not in unknown.get(name, ())]
        for name, slugs in filters.items()
    }
    visible = selectors.assets_for_user(request.user).descendant_of(page)
    grid_filters = {k: v for k, v in filters.items() if k not in ("stage", "pillar")}
    grid = selectors.asset_grid(selectors.assets_filter(visible, grid_filters))
    listing = selectors.assets_filter(visible, filters).select_related("document")
    listing = listing.order_by("-last_published_at", "title")
    paginator = Paginator(listing.prefetch_related(*CARD_RELATIONS), ASSETS_PER_PAGE)
    page_of_assets = paginator.get_page(request.GET.get("page"))
    for asset in page_of_assets:
        asset.chips = _chips(asset)
    context = {
        "page": page,
        "self": page,
        "grid": _grid_links(grid, filters),
        "pillars": [cell["pillar"] for cell in grid[0]["cells"]] if grid else [],
        "sections": selectors.sections_for_user(request.user, page),
        "assets": page_of_assets,
        "asset_count": paginator.count,
        "filters": filters,
        "filter_form": _filter_form(filters),
        "unknown_filters": unknown,
        "is_filtering": bool(filters),
        "page_query": urlencode([(k, v) for k, slugs in filters.items() for v in slugs]),
    }
    return TemplateResponse(request, page.template, context)


#: Session key: the asset whose page the rep is sent back to after acting on it (feedback, a
#: share link, "used in a deal"); showing it again is not another view.
SHOWN_AFTER_ACTION = "asset_shown_after_action"


def asset_page_after_action(request, asset: AssetPage) -> HttpResponseRedirect:
    """Back to ``asset``'s page after the rep acted on it, without counting a second view."""
    request.session[SHOWN_AFTER_ACTION] = asset.pk
    return redirect(asset.url or "home")


def asset_page_serve(request, *, page):
    """One asset for a rep: preview, summary, body, placement, owner, review status, the
    download (or link) and related assets. Records a view (``asset_viewed``) unless previewed
    or asked with HEAD."""
    preview = _is_manager_preview(request)
    if not preview and not selectors.asset_visible_to(request.user, page):
        raise Http404("No such asset")
    # A HEAD records no view (analytics' receiver) and leaves the after-action mark alone.
    head = request.method == "HEAD"
    if not preview and not head and request.session.pop(SHOWN_AFTER_ACTION, None) != page.pk:
        asset_viewed.send(sender=AssetPage, request=request, asset=page)
    related = selectors.assets_related(request.user, page)
    for asset in related:
        asset.chips = _chips(asset)
    context = {
        "page": page,
        "self": page,
        "chips": _chips(page),
        "placement": _placement(page),
        "related": related,
        "has_thumbnail": _has_thumbnail(page),
        "review_overdue": page.review_by is not None and page.review_by < timezone.localdate(),
        "at_page": _page_asked(request, page),
        # Wagtail makes whoever created an alias its owner; the asset's owner is the original's.
        "owner": selectors.asset_original(page).owner,
        "preview": preview,
    }
    return TemplateResponse(request, page.template, context)


def _page_asked(request, asset: AssetPage) -> selectors.PageOfAsset | None:
    """The page of the file asked for with ``?page=N`` (a search result's "Slide 41"), if
    the file has it."""
    raw = request.GET.get("page", "")
    if not raw.isdecimal() or len(raw) > 6:
        return None
    return selectors.asset_page_of_file(asset, int(raw))


def _has_thumbnail(asset: AssetPage) -> bool:
    return bool(_drawable_thumbnail_image(asset) or (asset.document and asset.document.thumbnail))


def _drawable_thumbnail_image(asset: AssetPage):
    """The asset's thumbnail image, unless it has more pixels than may be drawn (one stored
    before the limit was lowered: ``cms.images``); then None, as if it had none."""
    if not asset.thumbnail_image_id:
        return None
    image = asset.thumbnail_image
    if image_too_large(image):
        logger.warning(
            "asset %s: thumbnail image %s is %s×%s pixels, over the %s drawn; not shown",
            asset.pk,
            image.pk,
            image.width,
            image.height,
            image_pixel_limit(),
        )
        return None
    return image


def _visible_asset_or_404(request, asset_id: int) -> AssetPage:
    """The asset, or 404 with the same message whether it does not exist or the user may not
    see it (a different one would tell a rep which ids exist)."""
    assets = AssetPage.objects.select_related("document")
    asset = selectors.asset_visible_or_none(request.user, assets, asset_id)
    if asset is None:
        raise Http404("No such asset")
    return asset


@require_safe
@login_required
def asset_download(request, asset_id: int):
    """The asset's file, for users who may see the asset. Sends ``asset_downloaded`` so that
    analytics records the download of this asset, once the file is known to be there: a file
    missing from the store records nothing and answers the "file unavailable" page (404)."""
    asset = _visible_asset_or_404(request, asset_id)
    document = asset.document
    if document is None or not document.file:
        raise Http404("This asset has no file to download")
    try:
        response = stored_file_response(document.file, filename=document_download_name(document))
    except StoredFileMissing as missing:
        asset_file_missing_report(asset=asset, missing=missing, what="file")
        return _file_unavailable(request, asset)
    asset_downloaded.send(sender=AssetPage, request=request, asset=asset)
    return response


FILE_UNAVAILABLE = (
    "The file of this asset is missing from the library's file store, so it cannot be "
    "downloaded now. The library's owners have been told."
)


def _file_unavailable(request, asset: AssetPage) -> HttpResponse:
    """404 saying the file is unavailable and its owners told: JSON to a caller that asks
    for JSON (and not HTML), else a page with the way back to the asset."""
    if not request.accepts("text/html") and request.accepts("application/json"):
        return JsonResponse({"detail": FILE_UNAVAILABLE}, status=404)
    context = {"asset": asset, "message": FILE_UNAVAILABLE}
    return TemplateResponse(request, "cms/file_unavailable.html", context, status=404)


@require_safe
@login_required
def asset_link_open(request, asset_id: int):
    """Out to a link asset's address (a video, say), for users who may see the asset. Sends
    ``asset_downloaded``: opening the link is what a download is to a file, and the button
    linked straight out, so a link asset's use was never counted."""
    asset = _visible_asset_or_404(request, asset_id)
    if not asset.external_url:
        raise Http404("This asset has no link")
    asset_downloaded.send(sender=AssetPage, request=request, asset=asset)
    return HttpResponseRedirect(asset.external_url)


@require_safe
@login_required
def asset_thumbnail(request, asset_id: int):
    """The asset's preview image: its thumbnail image's rendition, else the thumbnail made from
    its file, else 404 (the templates show a placeholder instead). A thumbnail image with more
    pixels than may be drawn counts as none."""
    asset = _visible_asset_or_404(request, asset_id)
    image = _drawable_thumbnail_image(asset)
    if image is not None:
        try:
            rendition = image.get_rendition(THUMBNAIL_SPEC)
        except (InvalidFilterSpecError, OSError) as error:  # SourceImageIOError is an OSError
            if file_missing(error.__cause__ or error.__context__):
                missing = StoredFileMissing(image.file)
                asset_file_missing_report(asset=asset, missing=missing, what="thumbnail image")
            raise Http404("The thumbnail image cannot be read") from error
        return _thumbnail(asset, rendition.file, what="thumbnail image")
    if asset.document is not None and asset.document.thumbnail:
        return _thumbnail(asset, asset.document.thumbnail, what="thumbnail")
    raise Http404("This asset has no thumbnail")


def _thumbnail(asset: AssetPage, field_file, *, what: str) -> HttpResponse:
    try:
        return stored_file_response(field_file, as_attachment=False)
    except StoredFileMissing as missing:
        asset_file_missing_report(asset=asset, missing=missing, what=what)
        raise Http404("The thumbnail is missing from the file store") from missing


@require_safe
@login_required
def asset_page_preview(request, asset_id: int, number: int):
    """An image of page ``number`` of the asset's file (PDF pages), for users who may see the
    asset; 404 otherwise, or when the page cannot be drawn. Drawn in the extraction sandbox
    and kept in the cache, keyed by the processed file, so a new file is drawn afresh.

    The browser may keep the image but must ask again before each use (``no-cache``): access
    is checked on every request, so a rep whose access was removed gets 404 at once, and one
    who still has it gets a cheap 304 for the image they hold (the ETag names the drawing)."""
    asset = _visible_asset_or_404(request, asset_id)
    document = asset.document
    if document is None or selectors.asset_page_of_file(asset, number) is None:
        raise Http404("This asset has no such page")
    key = page_preview_key(document, number)
    etag = quote_etag(hashlib.sha256(key.encode()).hexdigest()[:32])
    unchanged = get_conditional_response(request, etag=etag)
    if unchanged is not None:
        return _page_preview_headers(unchanged, etag)
    try:
        png = page_preview_png(document, number)
    except ExtractionError as error:
        if file_missing(error.__cause__):
            missing = StoredFileMissing(document.file)
            asset_file_missing_report(asset=asset, missing=missing, what="file")
        raise Http404("This page cannot be drawn") from error
    if png is None:
        raise Http404("Only PDF pages have previews")
    response = HttpResponse(png, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return _page_preview_headers(response, etag)


@require_safe
@login_required
def image_rendition(request, name: str):
    """The rendition of a Wagtail image stored as ``images/<name>``, at the address its
    ``url`` gives on local disk (MEDIA_URL + "images/..."): the previews of Wagtail's image
    listing, chooser and edit page. On S3 that ``url`` is a presigned URL of the bucket and
    this view is not asked.

    Only a rendition is served, and only to a user Wagtail's admin shows its image to (the
    listing: "change"; the chooser: "choose"; in our roles, content managers, who see every
    asset, restricted or not). Reps have neither and get a 404, as for a name that is no
    rendition's (an original image, a document, a file made from one): a restricted asset's
    thumbnail reaches a rep only through ``asset_thumbnail``, which asks whether they may see
    the asset. The name is looked up among the renditions' rows, never opened as a path."""
    rendition = selectors.image_rendition_stored_as(f"images/{name}")
    policy = policy_registry.get_by_type(get_image_model())
    if rendition is None or not policy.user_has_any_permission_for_instance(
        request.user, ["change", "choose"], rendition.image
    ):
        raise Http404("No such image")
    try:
        return stored_file_response(rendition.file, as_attachment=False)
    except StoredFileMissing as missing:
        logger.error(
            "stored file missing: image %s, its rendition %s (storage %s)",
            rendition.image_id,
            missing.name,
            missing.storage,
        )
        raise Http404("The image is missing from the file store") from missing


def _page_preview_headers(response: HttpResponse, etag: str) -> HttpResponse:
    response["Cache-Control"] = "private, no-cache"
    response["ETag"] = etag
    return response
