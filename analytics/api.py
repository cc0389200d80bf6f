"""/api/v1 endpoints for usage events, CRM deal webhooks and per-asset analytics.

Authentication: a bearer key (``Authorization: Bearer ea_...``, made with
``manage.py create_api_key``) or a signed-in session (with its CSRF token for writes).
Events may come from any signed-in user; deals and analytics need the Enablement lead role.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt

from accounts.roles import user_is_enablement_lead
from accounts.throttle import APP_KEY_PREFIX, WAGTAIL_TOKEN_PREFIX, WrongKindOfToken
from analytics import deal_panel, scope, selectors, services, usage
from analytics.models import Deal, EventKind
from analytics.parsing import parse_amount
from search.engines import retry_after

PREFIX = "/"
MAX_BATCH = 1000
ID_MAX = 10**18 - 1  # 18 digits, as the URLs' <id:…>: always fits the database's 64-bit integer


class KeyAuth(HttpBearer):
    """``Authorization: Bearer ea_...``: an active, unrevoked, unexpired key of an active
    user (checked on every request, so a revoked key fails at once). Failed keys count
    towards the login throttle (``accounts.throttle``) and are refused (401) even beside a
    session; a Wagtail API token is refused as the wrong kind, uncounted."""

    def authenticate(self, request, token):
        if token.startswith(WAGTAIL_TOKEN_PREFIX):
            raise WrongKindOfToken(
                f"A Wagtail API token ({WAGTAIL_TOKEN_PREFIX}…)",
                f"an API key ({APP_KEY_PREFIX}…: manage.py create_api_key)",
            )
        key = services.api_key_authenticate(token=token, request=request)
        if key is None:  # judged by the key it presents, not by a session cookie beside it
            raise HttpError(401, "The API key is unknown, revoked or expired.")
        request.user = key.user
        request.api_key = key
        return key.user


router = Router(auth=[KeyAuth(), SessionAuth()], tags=["analytics"])


def _require_lead(request) -> None:
    if not user_is_enablement_lead(request.user):
        raise HttpError(403, "Only enablement leads may use this endpoint.")


def _takes_only(request, *names: str) -> None:
    """Refuse (400, naming it and the ones the endpoint takes) a query parameter the endpoint
    does not take, rather than ignore it: ``stage=decide`` or ``limit=10`` on the analytics
    answered every asset of every stage as if filtered, and ``dry_run=1`` would not stop a
    write. The answer has the shape of the API's other schema refusals
    (``enablement.api._invalid``)."""
    unknown = [name for name in request.GET if name not in names]
    if unknown:
        takes = f"it takes {', '.join(names)}" if names else "it takes none"
        message = f"not a parameter of {request.method} {request.path}; {takes}"
        raise NinjaValidationError([{"loc": ("query", name), "msg": message} for name in unknown])


# --- Events -----------------------------------------------------------------------------------


class EventIn(BaseModel):
    """A plain pydantic model, not a ninja Schema: ninja's per-object resolver costs more
    than the rest of ingestion for a batch of a thousand events. A field it does not name
    is refused, not dropped: ``deal`` for ``deal_id`` would store the touch on no deal."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(..., min_length=1, max_length=100)
    kind: str = Field(..., description=f"One of {', '.join(EventKind.values)}.")
    # Strict: true, "12" or 12.5 is a client's bug, not the asset 1 or 12.
    asset_id: StrictInt = Field(
        ..., ge=1, le=ID_MAX, description="The asset id the search API returns."
    )
    deal_id: str = Field("", description="The deal's CRM external id, if any.")
    occurred_at: datetime | None = Field(
        None,
        description="When it happened (default: now; no zone means UTC). From "
        f"{usage.EVENT_EARLIEST.date().isoformat()} to "
        f"{int(services.EVENT_CLOCK_SKEW.total_seconds() // 60)} minutes from now.",
    )
    metadata: dict = Field(
        default_factory=dict,
        description=f"Extra fields, at most {usage.EVENT_METADATA_MAX_BYTES} bytes as JSON.",
    )
    rep: str = Field(
        "",
        max_length=255,
        description="Integration keys only: the rep who acted (an active user's username, "
        "e-mail or full name, as a deal's owner is named); none: no rep. A user's own events "
        "(a session, a personal key) are theirs and name none.",
    )


class EventsIn(BaseModel):
    """The batch; a key besides ``events`` is refused like an event's unknown field."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(..., max_length=MAX_BATCH)


class EventError(Schema):
    index: int
    field: str
    error: str


class EventsOut(Schema):
    received: int
    stored: int
    duplicates: int = Field(
        ..., description="Events whose idempotency key this sender had already sent."
    )
    errors: list[EventError]


@router.post(
    "events", response={200: EventsOut, 400: EventsOut}, summary="Record a batch of usage events"
)
def post_events(request, payload: EventsIn):
    """Each event is stored once per idempotency key and sender (a user, whether by session
    or personal key; or an integration key); retries are safe, and another sender's keys
    neither clash with the caller's nor show in ``duplicates``. A batch is stored whole or
    not at all: when any event is refused (400), none is stored, and ``errors`` says for
    each refused event its index, field and reason. An asset the caller may not see is "no
    asset N", exactly like one that does not exist; a deal must be the caller's own unless
    the caller is an enablement lead or uses an integration key. A user's events are
    theirs; an integration key's are the ``rep`` each names, or no rep's. A rep's or
    marketer's own events are what the app's forms would record: never ``buyer_opened``
    (a share link's opening records it), never a share of an internal asset, never a closed
    deal, and dated at most 24 hours back."""
    _takes_only(request)
    events = [
        usage.EventInput(
            idempotency_key=e.idempotency_key,
            kind=e.kind,
            asset_id=e.asset_id,
            deal_external_id=e.deal_id,
            occurred_at=e.occurred_at,
            metadata=e.metadata,
            rep=e.rep,
        )
        for e in payload.events
    ]
    result = usage.usage_record_batch(
        events=events, user=request.user, api_key=getattr(request, "api_key", None), source="api"
    )
    return Status(400 if result.errors else 200, result.__dict__)


# --- Deals (CRM webhook) ----------------------------------------------------------------------


class DealIn(Schema):
    """A field this schema does not name is refused (400 naming it) rather than dropped:
    a CRM's other fields go in ``attributes``."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(..., min_length=1, max_length=100)
    stage: str = Field(..., min_length=1, max_length=100)
    name: str = ""
    account: str = ""
    amount: Decimal | str | None = None
    currency: str = ""
    close_date: date | None = None
    created_date: date | None = None
    owner: str = Field(
        "",
        description="The rep: an active user's username, e-mail or full name; another name is "
        "kept as the owner's name, and the answer's warnings say the deal is no rep's.",
    )
    industry: str = ""
    segment: str = ""
    won: StrictBool | None = Field(
        None,
        description="With closed (Salesforce's IsWon and IsClosed), for a stage that "
        "does not close the deal; it must agree with a closing stage.",
    )
    closed: StrictBool | None = None
    stage_changed_at: datetime | None = None
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Other CRM fields (e.g. region) the lead may compare effectiveness within.",
    )


class DealOut(Schema):
    external_id: str
    name: str
    stage: str
    journey_stage: str | None
    outcome: str
    amount: Decimal
    currency: str
    close_date: date | None
    created: bool = False


class DealWarning(Schema):
    field: str
    warning: str


class DealUpsertOut(DealOut):
    warnings: list[DealWarning] = Field(
        default_factory=list, description="What was stored otherwise than sent, and why."
    )


class StageIn(Schema):
    """Refuses a field it does not name, as ``DealIn`` does: ``changed_at`` for
    ``entered_at`` dated the stage now, and ``won`` closed nothing, both without a word."""

    model_config = ConfigDict(extra="forbid")

    stage: str = Field(..., min_length=1, max_length=100)
    entered_at: datetime | None = None


def _deal_out(deal: Deal, created: bool = False) -> dict:
    return {
        "external_id": deal.external_id,
        "name": deal.name,
        "stage": deal.stage,
        "journey_stage": deal.journey_stage.name if deal.journey_stage_id else None,
        "outcome": deal.outcome,
        "amount": deal.amount,
        "currency": deal.currency,
        "close_date": deal.close_date,
        "created": created,
    }


def _bad_request(error: ValidationError):
    raise HttpError(400, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))


@router.post(
    "deals", response={200: DealUpsertOut, 201: DealUpsertOut}, summary="Create or update a deal"
)
def upsert_deal(request, payload: DealIn):
    """Upsert by ``external_id``. A new stage is appended to the deal's history; a stage no
    journey stage lists is refused with 400 naming it. Closed Won or Closed Lost closes the
    deal (its close date: the one given, else the day of the stage change); another stage
    after a close reopens it. An ``owner`` that names no active user is kept as the owner's
    name, as the deal import keeps it (the CRM's owner need not use the library; the
    estimates compare deals by owner name), and ``warnings`` says that no rep has the deal."""
    _require_lead(request)
    _takes_only(request)
    data = payload.dict()
    amount = data.pop("amount")
    try:
        parsed, currency = parse_amount(amount) if amount not in (None, "") else (None, "")
    except ValueError as error:
        raise HttpError(400, f"amount: {error}") from None
    data["currency"] = data["currency"] or currency
    try:
        deal, created = services.deal_upsert(data=services.DealInput(amount=parsed, **data))
    except ValidationError as error:
        _bad_request(error)
    warnings = []
    if data["owner"].strip() and deal.owner_id is None:
        warning = (
            f"{data['owner'].strip()!r} is no active user (by username, e-mail or full name): "
            "the deal keeps it as its owner's name but is no rep's deal"
        )
        warnings.append({"field": "owner", "warning": warning})
    return Status(201 if created else 200, {**_deal_out(deal, created), "warnings": warnings})


@router.post(
    "deals/{crm_id:external_id}/stages", response=DealOut, summary="Record a deal's stage change"
)
def post_stage(request, external_id: str, payload: StageIn):
    """Append a stage to the deal's history. When it is the latest entry it becomes the
    current stage: Closed Won or Closed Lost sets the outcome and the close date (the day it
    was entered); any other stage after a close reopens the deal (both cleared); a later close
    sets them again."""
    _require_lead(request)
    _takes_only(request)
    deal = get_object_or_404(Deal, external_id=services.deal_external_id_normalise(external_id))
    try:
        services.deal_stage_change(
            deal=deal, stage=payload.stage, entered_at=payload.entered_at or timezone.now()
        )
    except ValidationError as error:
        _bad_request(error)
    deal.refresh_from_db()
    return _deal_out(deal)


# --- My deals: the rep's open deals and one deal's panel ---------------------------------------


class ErrorOut(Schema):
    detail: str


class RecommendationOut(Schema):
    id: int
    title: str
    url: str
    summary: str
    reasons: list[str]
    shareable: bool = Field(description="Whether it may be shared with the deal's buyer.")
    in_deal: list[str] = Field(
        description="The kinds of touch it already had in this deal (asset_shared, "
        "buyer_opened, used_in_deal, asset_presented), latest first."
    )


class TouchOut(Schema):
    asset_id: int
    title: str
    kind: str
    occurred_at: datetime


class DealPanelOut(Schema):
    deal: DealOut
    deal_mode: dict[str, str]
    recommendations: list[RecommendationOut] | None = Field(
        description="null while search is unavailable (``recommendations_unavailable``)."
    )
    recommendations_unavailable: str | None = Field(
        None, description="Why there are no recommendations (search is down), else null."
    )
    touches: list[TouchOut]


@router.get("deals/mine", response=list[DealOut], summary="The caller's open deals")
def my_deals(request):
    """The caller's own open deals, most recently updated first (as the pickers list them)."""
    _takes_only(request)
    deals, _ = deal_panel.deals_for_rep(user=request.user)
    return [_deal_out(deal) for deal in deals]


@router.get(
    "deals/{crm_id:external_id}",
    response={200: DealPanelOut, 404: ErrorOut},
    summary="A deal's panel: recommended assets and what was shared or used",
)
def deal_detail(request, response: HttpResponse, external_id: str):
    """The same panel as ``/deals/<external_id>/``: the assets recommended for the deal's
    stage, industry, persona and competitors (each with its reasons; only assets the caller
    may see) and the assets already shared or used in it. Another rep's deal is 404. The
    recommendations are recorded as a search, as the page's are, but for a HEAD
    (``enablement.api.HeadAsGet``). With search down it is still a 200 with the deal and its
    touches (they need no search): ``recommendations`` is null,
    ``recommendations_unavailable`` says why, and ``Retry-After`` when to ask again."""
    _takes_only(request)
    deal = deal_panel.deal_for_user(
        user=request.user, external_id=services.deal_external_id_normalise(external_id)
    )
    if deal is None:
        return Status(404, {"detail": "No such deal."})
    panel = deal_panel.deal_panel(
        user=request.user,
        deal=deal,
        source="api",
        record=not getattr(request, "answering_head", False),
    )
    if panel.recommendations is None:
        response["Retry-After"] = retry_after()
    return {
        "deal": _deal_out(deal),
        "deal_mode": panel.params,
        "recommendations": _recommendations_out(panel),
        "recommendations_unavailable": panel.unavailable or None,
        "touches": [
            {
                "asset_id": e.asset_id,
                "title": e.asset.title,
                "kind": e.kind,
                "occurred_at": e.occurred_at,
            }
            for e in panel.touches
        ],
    }


def _recommendations_out(panel) -> list[dict] | None:
    if panel.recommendations is None:
        return None
    return [
        {
            "id": rec.card.asset_id,
            "title": rec.card.title,
            "url": rec.card.url,
            "summary": rec.card.summary,
            "reasons": rec.card.reasons,
            "shareable": rec.card.asset_id in panel.shareable,
            "in_deal": [row.kind_code for row in rec.touched],
        }
        for rec in panel.recommended
    ]


# --- Analytics --------------------------------------------------------------------------------


#: The query parameters of ``GET /api/v1/analytics/assets``: the README's list, in its order.
ASSETS_PARAMETERS = ("window", "segment", "industry")


def _spelled(name: str, value: str, known: list[str]) -> str:
    """A filter as the deals spell it ("" for none; ``deal_filter_spelled``), or 400 naming
    the ones there are."""
    spelled = selectors.deal_filter_spelled(value, known)
    if spelled is None:
        choices = f"one of {', '.join(known)}, or empty for all" if known else "leave it empty"
        raise HttpError(400, f"{name}: {value.strip()!r} is no deal's {name}; {choices}")
    return spelled


@router.get("analytics/assets", summary="Per-asset effectiveness and usage")
def analytics_assets(request, window: str = "365d", segment: str = "", industry: str = ""):
    """The numbers of the dashboard's asset table, one object per asset, with the field
    names of ``analytics.selectors.ASSET_FIELDS`` and ``NESTED_FIELDS`` plus ``asset_id``
    and ``title``. ``verdict`` is "helps" or "hurts" only for assets that pass
    Benjamini-Hochberg at ``view.fdr`` across the ``view.tested`` assets of this view and
    whose 95% interval leaves out zero; the per-segment and per-stage parts (``segments``,
    ``stages``) are not adjusted for multiple comparisons (``view.parts_adjusted_for_multiplicity``
    is false). ``raw_lift`` and ``stage_matched_lift`` (with its interval) are null, as the
    headline's estimate is, below ``view.min_deals`` deals on either side of the comparison.
    ``updated_at`` is when the numbers are from; ``refreshing`` says a refresh is on its way;
    ``stalled`` (else null), as the dashboard says it, that the process that runs refreshes
    seems stopped: ``{"process": "scheduler", "worker" or "refresh", "since": …}``.
    Money is in ``view.currency`` (``revenue_without_rate``: per currency, no rate).
    ``window`` is one of 90d, 365d, all; ``segment`` and ``industry`` one of the deals' or
    empty; each in any case, and echoed as the data spells it; another value is refused
    (400) naming the ones there are. Another parameter (``stage``, ``sort``, ``limit``…) is
    refused (400) naming the ones this endpoint takes."""
    _require_lead(request)
    _takes_only(request, *ASSETS_PARAMETERS)
    spelled = scope.window_spelled(window)
    if spelled is None:
        raise HttpError(
            400, f"window: {window.strip()!r} is no window; one of {', '.join(scope.WINDOWS)}"
        )
    segments, industries = selectors.deal_segments()
    segment = _spelled("segment", segment, segments)
    industry = _spelled("industry", industry, industries)
    rows, summary = selectors.asset_table(window=spelled, segment=segment, industry=industry)
    status = selectors.refresh_status()
    stalled = status["stalled"]
    return {
        "window": spelled,
        "segment": segment,
        "industry": industry,
        "updated_at": status["data_as_of"],
        "refreshing": status["refreshing"],
        "stalled": {"process": stalled[0], "since": stalled[1]} if stalled else None,
        "view": summary,
        "assets": rows,
    }
