"""The enablement dashboard (enablement leads only). Views parse input, call a selector or
service and render; the numbers come from the rollups."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from accounts.roles import user_is_enablement_lead, user_manages_content
from analytics import charts, exports, scope, selectors, services
from analytics.content_requests import content_request_create, content_requests_backlog
from analytics.effectiveness import HETEROGENEITY_ALPHA
from analytics.forms import ExportForm, ImportForm, StrataForm
from analytics.import_jobs import (
    LOCKED_RETRY_AFTER,
    QUEUED_GIVEN_UP_AFTER,
    import_job_create,
    import_job_waiting_for,
)
from analytics.imports import LOCK_STALE_AFTER, ImportError_, ImportReport, parse_mapping
from analytics.locks import BUSY_PATIENCE
from analytics.models import ImportJob
from analytics.refresh import analytics_refresh_request
from cms.models import AssetPage, BuyerStage, Pillar
from cms.selectors import asset_original

SORTABLE = {"title", *selectors.ASSET_FIELDS}
DEFAULT_SORT = "effect"
REQUESTS_SHOWN = 50  # the most backed content requests, on the search gaps page
#: A running import whose progress has not moved for this long is said to have maybe stopped
#: (a chunk takes well under a second; its worker was killed, say).
IMPORT_STALLED_AFTER = timedelta(minutes=2)


def lead_required(view):
    """Signed in (else the login page) and an enablement lead (else 403)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not user_is_enablement_lead(request.user):
            raise PermissionDenied("The dashboard is for enablement leads.")
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view):
    """Signed in and managing content (marketers, leads, admins), else 403: what marketing
    needs from analytics (the searches that found nothing) without the whole dashboard."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not user_manages_content(request.user):
            raise PermissionDenied("This page is for marketing and enablement.")
        return view(request, *args, **kwargs)

    return wrapper


def _window(request) -> str:
    """The page's window, given in any case; an unknown one is the default (and named)."""
    return scope.window_spelled(request.GET.get("window", "")) or scope.DEFAULT_WINDOW


def _base_context(request, **extra) -> dict:
    status = selectors.refresh_status()
    asked = request.GET.get("window")
    unknown = asked is not None and scope.window_spelled(asked) is None
    return {
        "window": _window(request),
        "window_unknown": asked if unknown else None,
        "windows": list(scope.WINDOW_LABELS.items()),
        "updated_at": status["data_as_of"],
        "refreshing": status["refreshing"],
        "refresh_error": status["error"],
        "refresh_stalled": status["stalled"],
        **extra,
    }


@lead_required
def overview(request):
    window = _window(request)
    context = _base_context(
        request,
        overview=selectors.snapshot("overview", window),
        # the period's first close date, for the export of its deals without history
        window_start=scope.window_start(window),
        heatmap=selectors.heatmap_grid(window),
        strata_form=StrataForm(initial={"strata": scope.strata_chosen()}),
    )
    return render(request, "analytics/overview.html", context)


@lead_required
@require_POST
def strata(request):
    """The lead picks what the estimates compare within (besides segment and owner)."""
    form = StrataForm(request.POST)
    if form.is_valid():
        services.analytics_settings_update(strata=form.cleaned_data["strata"])
        analytics_refresh_request(reason="comparison attributes changed")
        messages.success(request, "Saved. The numbers are being recomputed.")
    else:
        messages.error(request, "Pick attributes from the list.")
    return redirect("analytics:overview")


def _term_slug(model, given: str) -> str | None:
    """A stage or pillar filter by its slug or its name, in any case ("Decide", "decide"), as
    its slug; None when no stage (pillar) is called that."""
    match = Q(slug__iexact=given) | Q(name__iexact=given)
    return model.objects.filter(match).order_by("pk").values_list("slug", flat=True).first()


def _filtered_rows(request) -> tuple[list[dict], dict]:
    params = {
        "segment": request.GET.get("segment", "").strip(),
        "industry": request.GET.get("industry", "").strip(),
        "q": request.GET.get("q", "").strip(),
        "stage": request.GET.get("stage", "").strip(),
        "pillar": request.GET.get("pillar", "").strip(),
        "sort": request.GET.get("sort", DEFAULT_SORT),
        "order": "asc" if request.GET.get("order") == "asc" else "desc",
    }
    segments, industries = selectors.deal_segments()
    unknown = {}
    for name, known in (("segment", segments), ("industry", industries)):
        spelled = selectors.deal_filter_spelled(params[name], known)
        if spelled is None:  # dropped, as an unknown window is, and named on the page
            unknown[name] = params[name]
        params[name] = spelled or ""
    unknown_terms = {}
    for name, model in (("stage", BuyerStage), ("pillar", Pillar)):
        slug = _term_slug(model, params[name]) if params[name] else ""
        if slug is None:
            unknown_terms[name] = params[name]  # dropped and named, not "no asset matches"
        params[name] = slug or ""
    rows, summary = selectors.asset_table(
        window=_window(request), segment=params["segment"], industry=params["industry"]
    )
    assets = AssetPage.objects.filter(pk__in=[r["asset_id"] for r in rows])
    if params["stage"]:
        assets = assets.filter(stages__slug=params["stage"])
    if params["pillar"]:
        assets = assets.filter(pillars__slug=params["pillar"])
    if params["q"]:
        assets = assets.filter(title__icontains=params["q"])
    keep = set(assets.values_list("pk", flat=True))
    rows = [r for r in rows if r["asset_id"] in keep]
    sort = params["sort"] if params["sort"] in SORTABLE else DEFAULT_SORT
    ordered = selectors.asset_rows_sort(rows, sort=sort, descending=params["order"] == "desc")
    choices = {"segments": segments, "industries": industries}
    return ordered, {
        **params,
        **choices,
        "sort": sort,
        "summary": summary,
        "unknown": unknown,
        "unknown_terms": unknown_terms,
    }


@lead_required
def asset_list(request):
    rows, params = _filtered_rows(request)
    context = _base_context(
        request,
        rows=rows,
        params=params,
        segments=params["segments"],
        industries=params["industries"],
        stages=BuyerStage.objects.all(),
        pillars=Pillar.objects.all(),
        summary=params["summary"],
        columns=[
            ("effect", "Effect (stratified)"),
            ("usable_deals", "Deals compared"),
            ("mde", "Smallest detectable"),
            ("raw_lift", "Raw lift"),
            ("stage_matched_lift", "Stage-matched lift"),
            ("influenced_revenue", "Influenced revenue"),
            ("views", "Views"),
            ("distinct_reps", "Reps"),
        ],
        heterogeneity_alpha=HETEROGENEITY_ALPHA,
    )
    return render(request, "analytics/asset_list.html", context)


@lead_required
def asset_csv(request):
    """The asset table as the page shows it; a filtered table says so in its file name and
    in every row's ``filters`` (a segment's file once looked like the whole table's)."""
    rows, params = _filtered_rows(request)
    filters = exports.asset_filters(params)
    return exports.csv_response(
        exports.asset_csv_filename(_window(request), filters),
        exports.ASSET_CSV_FIELDS,
        (exports.asset_csv_row(row, filters=filters) for row in rows),
    )


def _dashboard_asset(request, asset_id: int, view_name: str):
    """(the asset ``asset_id`` or 404, None), or (None, a redirect to ``view_name`` of its
    original, query kept) for an alias: its numbers are its original's."""
    asset = AssetPage.objects.filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No such asset")
    if asset.alias_of_id is None:
        return asset, None
    url = reverse(view_name, args=[asset_original(asset).pk])
    query = request.GET.urlencode()
    return None, redirect(f"{url}?{query}" if query else url)


@lead_required
def asset_detail(request, asset_id: int):
    asset, moved = _dashboard_asset(request, asset_id, "analytics:asset")
    if moved:
        return moved
    window = _window(request)
    numbers = selectors.asset_stats(asset_id, window=window)
    weeks = selectors.asset_usage_weeks(asset_id, since=scope.window_start(window))
    context = _base_context(
        request,
        asset=asset,
        page=selectors.asset_page_state(user=request.user, asset=asset),
        numbers=numbers,
        used_without_history=_used_without_history(numbers),
        summary=selectors.snapshot("asset_view", window),
        interval_svg=charts.interval_chart(numbers),
        weekly_svg=charts.weekly_chart(weeks),
        attribution_svg=charts.attribution_chart(numbers),
        weeks=weeks,
        feedback=selectors.feedback_for_asset(asset_id),
        heterogeneity_alpha=HETEROGENEITY_ALPHA,
    )
    return render(request, "analytics/asset_detail.html", context)


def _used_without_history(numbers: dict) -> int:
    """Closed deals that used the asset but are not compared: ``deals_used`` (the raw row)
    counts every closed deal of the view touched before closing, ``touched_deals`` only those
    whose stage history names a journey stage they went through, the deals the stratified
    comparison can place at a stage. The rest have no stage history (``without_history``)."""
    return max(0, (numbers.get("deals_used") or 0) - (numbers.get("touched_deals") or 0))


def _asset_file_stem(asset: AssetPage) -> str:
    """An asset's id and title as ASCII words, for file names: asset-12-roi-calculator."""
    words = slugify(asset.title)[:60].strip("-")
    return f"asset-{asset.pk}-{words}" if words else f"asset-{asset.pk}"


@lead_required
def asset_numbers_csv(request, asset_id: int):
    """The asset page's numbers: one row with the asset table's columns."""
    asset, moved = _dashboard_asset(request, asset_id, "analytics:asset_numbers_csv")
    if moved:
        return moved
    window = _window(request)
    row = {
        "asset_id": asset.pk,
        "title": asset.title,
        **selectors.asset_stats(asset.pk, window=window),
    }
    return exports.csv_response(
        f"{_asset_file_stem(asset)}-numbers-{window}.csv",
        exports.ASSET_CSV_FIELDS,
        [exports.asset_csv_row(row)],
    )


@lead_required
def asset_weekly_csv(request, asset_id: int):
    """The asset page's usage over time: events of each kind per week."""
    asset, moved = _dashboard_asset(request, asset_id, "analytics:asset_weekly_csv")
    if moved:
        return moved
    window = _window(request)
    weeks = selectors.asset_usage_weeks(asset.pk, since=scope.window_start(window))
    return exports.csv_response(
        f"{_asset_file_stem(asset)}-weekly-usage-{window}.csv",
        exports.WEEKLY_CSV_FIELDS,
        exports.weekly_csv_rows(weeks),
    )


@lead_required
def heatmap_csv(request):
    window = _window(request)
    return exports.csv_response(
        f"heatmap-stage-pillar-{window}.csv",
        exports.HEATMAP_CSV_FIELDS,
        exports.heatmap_csv_rows(selectors.heatmap_grid(window)),
    )


@lead_required
def health(request):
    context = _base_context(request, health=selectors.content_health())
    return render(request, "analytics/health.html", context)


@lead_required
def health_csv(request, table: str):
    if table not in exports.HEALTH_CSV:
        raise Http404("No such list")
    name, fields = exports.HEALTH_CSV[table]
    items = selectors.content_health()[name]
    return exports.csv_response(
        f"content-health-{table}-{timezone.localdate().isoformat()}.csv",
        fields,
        exports.health_csv_rows(items, fields),
    )


@manager_required
def search_gaps(request):
    if request.method == "POST":
        text = request.POST.get("query", "").strip()
        if not text:
            messages.error(request, "Say which search to turn into a request.")
        else:
            try:
                asked, new = content_request_create(
                    user=request.user, text=text, source="search_gap"
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                if new:
                    messages.success(request, f"Content request created for “{text}”.")
                else:  # an open request already asks for it: this backs it
                    messages.success(
                        request, f"Already requested as “{asked.text}”: your vote is added to it."
                    )
        return redirect("analytics:search_gaps")
    gaps = selectors.search_gaps()
    search_page = reverse("search:search")
    for gap in gaps["zero_results"]:
        # What exists for these words, as the lead sees it (leads and marketers see every live
        # asset): offered instead of asking marketing to make it.
        gap["search_url"] = f"{search_page}?{urlencode({'q': gap['typed']})}"
    backlog = content_requests_backlog()
    context = _base_context(
        request,
        gaps=gaps,
        requests=backlog[:REQUESTS_SHOWN],
        requests_total=backlog.count(),
        requests_shown=REQUESTS_SHOWN,
    )
    return render(request, "analytics/search_gaps.html", context)


@manager_required
def search_gaps_csv(request, table: str):
    """A table of the search gaps page: ``zero-results``, ``no-click`` or ``requests``."""
    if table == "requests":  # every request, where the page shows the most backed
        requests = content_requests_backlog().iterator(chunk_size=2000)
        return exports.csv_response(
            "content-requests.csv", exports.REQUEST_CSV_FIELDS, exports.request_csv_rows(requests)
        )
    if table not in exports.SEARCH_GAP_CSV:
        raise Http404("No such table")
    gaps = selectors.search_gaps()[exports.SEARCH_GAP_CSV[table]]
    fields, rows = exports.SEARCH_GAP_CSV_FIELDS, exports.search_gap_csv_rows(gaps)
    if table == "zero-results":  # what search finds for them today, as the page shows it
        fields = [*fields, "found_today", "found_today_restricted"]
        rows = (
            [*row, gap["found"], gap["found_restricted"]]
            for row, gap in zip(rows, gaps, strict=True)
        )
    return exports.csv_response(f"search-gaps-{table}-90d.csv", fields, rows)


@lead_required
def import_deals(request):
    """The upload form: a valid upload becomes an import job run in the background, and the
    lead is taken to its page. A form that is not valid (no file, a bad mapping) is shown
    again with its errors and no job."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            parse_mapping(data["mapping"])
        except ImportError_ as error:
            form.add_error("mapping", str(error))
        else:
            job = import_job_create(
                user=request.user,
                upload=data["file"],
                kind=data["kind"],
                dry_run=data["dry_run"],
                mapping=data["mapping"],
                date_order=data["date_order"],
            )
            return redirect("analytics:import_job", job_id=job.pk)
    return render(request, "analytics/import.html", _base_context(request, form=form))


@lead_required
@require_safe
def import_job(request, job_id: int):
    """One import's page: its progress while it runs (the page reloads itself), then its
    report or the reason it failed; while queued, the import it waits for, if one runs."""
    job = get_object_or_404(ImportJob, pk=job_id)
    report = ImportReport.from_dict(job.report) if job.report else None
    quiet = timezone.now() - job.updated_at > IMPORT_STALLED_AFTER
    context = _base_context(
        request,
        job=job,
        report=report,
        rows_read=f"{job.rows_read:,}",
        stalled=quiet and job.status == ImportJob.Status.RUNNING,
        unstarted=quiet and job.status == ImportJob.Status.QUEUED,
        again_at=job.updated_at + LOCK_STALE_AFTER,  # its lock is taken over then
        given_up_at=job.updated_at + QUEUED_GIVEN_UP_AFTER,  # a queued job is failed then
        waiting_for=import_job_waiting_for(job),
        retry_seconds=int(LOCKED_RETRY_AFTER.total_seconds()),
        busy_minutes=int(BUSY_PATIENCE.total_seconds() // 60),
    )
    response = render(request, "analytics/import_job.html", context)
    add_never_cache_headers(response)
    return response


@lead_required
@require_safe
def import_job_status(request, job_id: int):
    """An import's progress as JSON: status, rows read so far, when it last moved."""
    job = get_object_or_404(ImportJob, pk=job_id)
    response = JsonResponse(
        {
            "status": job.status,
            "rows_read": job.rows_read,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "updated_at": job.updated_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "error": job.error,
        }
    )
    add_never_cache_headers(response)
    return response


@lead_required
@require_POST
def refresh(request):
    """Queue a refresh and come back at once; the page says "refreshing…" until it ran."""
    analytics_refresh_request(reason="Update now")
    messages.success(request, "Refresh queued: the numbers update in a moment.")
    back = request.POST.get("next", "")  # the dashboard page it was pressed on
    if back.startswith("/analytics/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect("analytics:overview")


@manager_required
@require_safe
def refresh_status(request):
    """When the numbers are from and whether a refresh is on its way, as JSON: a dashboard page
    that says "refreshing…" asks it every few seconds (``analytics/refresh.js``) and offers
    the new numbers once they are in. ``stalled`` says what the pages say when the process
    that runs refreshes seems stopped (``{"process": "scheduler", "worker" or "refresh",
    "since": …}``), else null, so that a monitor reading this sees it too."""
    status = selectors.refresh_status()
    as_of, stalled = status["data_as_of"], status["stalled"]
    response = JsonResponse(
        {
            "data_as_of": as_of.isoformat() if as_of else None,
            "refreshing": status["refreshing"],
            "error": status["error"],
            "stalled": {"process": stalled[0], "since": stalled[1].isoformat()}
            if stalled
            else None,
        }
    )
    add_never_cache_headers(response)
    return response


@lead_required
def export(request):
    """Raw events, deal history or deals for a date range, as CSV (or Parquet)."""
    form = ExportForm(request.GET or None)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        return exports.export_response(
            what=data["what"],
            start=data["start"],
            end=data["end"],
            file_format=data["format"],
            without_history=data["without_history"],
        )
    context = _base_context(request, form=form, schemas=exports.SCHEMAS, types=exports.TYPES)
    return render(request, "analytics/export.html", context)
