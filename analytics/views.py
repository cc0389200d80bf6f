"""The enablement dashboard (enablement leads only). Views parse input, call a selector or
service and render; the numbers come from the rollups."""

from __future__ import annotations

import csv
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import user_is_enablement_lead
from analytics import charts, selectors, services
from analytics.forms import ImportForm
from analytics.imports import ImportError_, deal_import_file, parse_mapping
from analytics.models import ContentRequest
from analytics.rollups import AnalyticsLocked, update_analytics
from cms.exports import spreadsheet_safe
from cms.models import AssetPage, BuyerStage, Pillar

SORTABLE = {"title", *selectors.ASSET_FIELDS}


def lead_required(view):
    """Signed in (else the login page) and an enablement lead (else 403)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not user_is_enablement_lead(request.user):
            raise PermissionDenied("The dashboard is for enablement leads.")
        return view(request, *args, **kwargs)

    return wrapper


def _window(request) -> str:
    window = request.GET.get("window", selectors.DEFAULT_WINDOW)
    return window if window in selectors.WINDOWS else selectors.DEFAULT_WINDOW


def _base_context(request, **extra) -> dict:
    return {
        "window": _window(request),
        "windows": [("90d", "Last 90 days"), ("365d", "Last 12 months"), ("all", "All time")],
        "updated_at": selectors.last_updated(),
        **extra,
    }


@lead_required
def overview(request):
    window = _window(request)
    context = _base_context(
        request,
        overview=selectors.snapshot("overview", window),
        heatmap=selectors.heatmap_grid(window),
    )
    return render(request, "analytics/overview.html", context)


def _filtered_rows(request) -> tuple[list[dict], dict]:
    params = {
        "segment": request.GET.get("segment", "").strip(),
        "industry": request.GET.get("industry", "").strip(),
        "q": request.GET.get("q", "").strip(),
        "stage": request.GET.get("stage", "").strip(),
        "pillar": request.GET.get("pillar", "").strip(),
        "sort": request.GET.get("sort", "lift"),
        "order": "asc" if request.GET.get("order") == "asc" else "desc",
    }
    rows = selectors.asset_table(
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
    sort = params["sort"] if params["sort"] in SORTABLE else "lift"
    present = [r for r in rows if r.get(sort) is not None]
    missing = [r for r in rows if r.get(sort) is None]
    present.sort(key=lambda r: r[sort], reverse=params["order"] == "desc")
    return present + sorted(missing, key=lambda r: r["title"]), {**params, "sort": sort}


@lead_required
def asset_list(request):
    rows, params = _filtered_rows(request)
    segments, industries = selectors.deal_segments()
    context = _base_context(
        request,
        rows=rows,
        params=params,
        segments=segments,
        industries=industries,
        stages=BuyerStage.objects.all(),
        pillars=Pillar.objects.all(),
        columns=[
            ("deals_used", "Deals used"),
            ("win_rate", "Win rate"),
            ("baseline_win_rate", "Baseline"),
            ("lift", "Lift"),
            ("influenced_revenue", "Influenced revenue"),
            ("views", "Views"),
            ("distinct_reps", "Reps"),
        ],
    )
    return render(request, "analytics/asset_list.html", context)


@lead_required
def asset_csv(request):
    rows, _ = _filtered_rows(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="asset-effectiveness-{_window(request)}.csv"'
    )
    fields = ["asset_id", "title", *selectors.ASSET_FIELDS]
    writer = csv.writer(response)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(name)) for name in fields])
    return response


@lead_required
def asset_detail(request, asset_id: int):
    asset = AssetPage.objects.filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No such asset")
    window = _window(request)
    numbers = selectors.asset_stats(asset_id, window=window)
    weeks = selectors.asset_usage_weeks(asset_id, since=selectors.window_start(window))
    context = _base_context(
        request,
        asset=asset,
        numbers=numbers,
        interval_svg=charts.interval_chart(numbers),
        weekly_svg=charts.weekly_chart(weeks),
        attribution_svg=charts.attribution_chart(numbers),
        weeks=weeks,
        feedback=selectors.feedback_for_asset(asset_id),
    )
    return render(request, "analytics/asset_detail.html", context)


@lead_required
def health(request):
    context = _base_context(request, health=selectors.content_health())
    return render(request, "analytics/health.html", context)


@lead_required
def search_gaps(request):
    if request.method == "POST":
        text = request.POST.get("query", "").strip()
        if not text:
            messages.error(request, "Say which search to turn into a request.")
        else:
            services.content_request_create(user=request.user, text=text)
            messages.success(request, f"Content request created for “{text}”.")
        return redirect("analytics:search_gaps")
    context = _base_context(
        request,
        gaps=selectors.snapshot("search_gaps", "90d"),
        requests=ContentRequest.objects.select_related("requested_by")[:50],
    )
    return render(request, "analytics/search_gaps.html", context)


@lead_required
def import_deals(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = deal_import_file(
                data["file"],
                data["file"].name,
                kind=data["kind"],
                dry_run=data["dry_run"],
                mapping=parse_mapping(data["mapping"]),
                date_order=data["date_order"],
            )
        except ImportError_ as error:
            form.add_error("file", str(error))
        if report and not report.dry_run:
            _refresh_rollups(request)
    return render(
        request, "analytics/import.html", _base_context(request, form=form, report=report)
    )


def _refresh_rollups(request) -> None:
    try:
        update_analytics()
    except AnalyticsLocked:
        messages.info(request, "The numbers are being updated by another run; refresh shortly.")


@lead_required
@require_POST
def refresh(request):
    _refresh_rollups(request)
    messages.success(request, "Analytics updated.")
    return redirect("analytics:overview")
