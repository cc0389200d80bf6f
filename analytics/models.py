"""Analytics records. Raw events are append-only. (Search events are search's own:
``search.models.SearchEvent``, read here through ``search.selectors``.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse

from accounts.roles import content_managers_q

# --- Deals ------------------------------------------------------------------------------------


class Deal(models.Model):
    """A CRM opportunity, keyed by the CRM's own id (``external_id``).

    ``reached_stage_order`` is the highest journey-stage ``sort_order`` the deal's history
    passed through (a won deal reached every stage); the stage-matched baseline reads it.
    """

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=255, blank=True)
    account = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(max_length=100, help_text="The CRM stage name, as the CRM says it.")
    journey_stage = models.ForeignKey(
        "cms.BuyerStage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(
        max_length=4, choices=Outcome.choices, default=Outcome.OPEN, db_index=True
    )
    close_date = models.DateField(null=True, blank=True, db_index=True)
    created_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    owner_name = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    segment = models.CharField(max_length=100, blank=True, db_index=True)
    reached_stage_order = models.IntegerField(default=0)
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Other CRM fields kept from imports (e.g. region), by their header.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-close_date", "external_id"]

    def __str__(self) -> str:
        return (
            f"{self.name or self.external_id} ({self.account})"
            if self.account
            else (self.name or self.external_id)
        )

    @property
    def page_url(self) -> str:
        """The deal panel's address; "" for an id no address holds (one stored before such
        ids were refused: ``services.deal_external_id_problem``)."""
        try:
            return reverse("deals:detail", args=[self.external_id])
        except NoReverseMatch:
            return ""


class DealStageChange(models.Model):
    """One step of a deal's stage history: it entered ``stage`` at ``entered_at``."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="history")
    stage = models.CharField(max_length=100)
    journey_stage = models.ForeignKey(
        "cms.BuyerStage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField()
    # Recorded by a deals file that gave the stage but not when it was entered: dated at that
    # import (or at midnight of a closed deal's close date). A history file may replace it.
    stand_in = models.BooleanField(default=False)

    class Meta:
        # By the key, not the related model: "deal" would join and sort by the deal's ordering.
        ordering = ["deal_id", "entered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "stage", "entered_at"], name="analytics_stage_change_once"
            )
        ]


class ImportJob(models.Model):
    """One upload of a deals or history file, imported in the background
    (``analytics.import_jobs``): its options, how far it got and what it found. A job left
    "running" whose ``updated_at`` stopped moving was cut off (its worker stopped); importing
    the file again finishes it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    #: Where the upload waits until the job has run (deleted then), relative to DATA_DIR.
    stored_path = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=20, default="deals")
    dry_run = models.BooleanField(default=False)
    mapping = models.TextField(blank=True)
    date_order = models.CharField(max_length=10, default="auto")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_read = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def again(self) -> str:
        """What to do when the run stopped partway."""
        if self.dry_run:
            return "A dry run saves nothing; run it again"
        return (
            "The rows saved so far are kept; import the file again to finish it (deals are "
            "updated by Opportunity ID, never duplicated)"
        )


# --- Usage ------------------------------------------------------------------------------------


class EventKind(models.TextChoices):
    VIEWED = "asset_viewed", "Viewed"
    DOWNLOADED = "asset_downloaded", "Downloaded"
    SHARED = "asset_shared", "Shared"
    BUYER_OPENED = "buyer_opened", "Opened by buyer"
    USED_IN_DEAL = "used_in_deal", "Used in deal"
    PRESENTED = "asset_presented", "Presented"


#: Events that count as a touch of a deal; a rep's own views and downloads do not.
TOUCH_KINDS = (
    EventKind.SHARED,
    EventKind.BUYER_OPENED,
    EventKind.USED_IN_DEAL,
    EventKind.PRESENTED,
)


class UsageEvent(models.Model):
    """One thing that happened to an asset. Append-only. ``journey_stage`` is the deal's stage
    when it happened; ``user`` is the rep who acted (none: a buyer, or an integration that
    named no rep).

    An idempotency key is the sender's own: (``sender``, ``idempotency_key``) is unique, so
    the same event sent twice by one sender is stored once, while another sender's event with
    the same key is another event (and nobody can claim, or probe for, a key someone else
    sends). ``sender`` is ``user:<id>`` (a signed-in user or their personal key: one sender
    however they send), ``key:<id>`` (an integration key), ``app`` (events the app records
    itself, under keys it makes), ``demo`` (the demo loader) or ``legacy`` (an API event
    stored before senders were recorded whose user has since been deleted)."""

    #: The senders of events the app records itself and of the demo loader's events.
    SENDER_APP = "app"
    SENDER_DEMO = "demo"

    sender = models.CharField(max_length=30)
    idempotency_key = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    # Ingestion speed is bounded by index upkeep: each index costs every batch a page per
    # event in the write-ahead log. So only the indexes that hot reads use: the (deal,
    # occurred_at) index below also serves the deal foreign key, and leaves out events with
    # no deal. The raw export's date range scans the table instead (0.5 s at 3M events), and
    # so does deleting an asset or a user (nulling their events: about 0.2 s per million
    # events, rare); the asset index alone was 40% of each batch's log (2.7 MB -> 1.7 MB).
    asset = models.ForeignKey(
        "cms.AssetPage", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    deal = models.ForeignKey(
        Deal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
    )
    journey_stage = models.ForeignKey(
        "cms.BuyerStage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    crm_stage = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    share_link = models.ForeignKey(
        "analytics.ShareLink",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=20, default="web")  # web | api | share | demo
    metadata = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "idempotency_key"], name="analytics_event_once_per_sender"
            )
        ]
        indexes = [
            models.Index(
                fields=["deal", "occurred_at"],
                name="analytics_event_deal_time",
                condition=models.Q(deal__isnull=False),
            )
        ]


class ShareLink(models.Model):
    """A buyer-facing link to one asset for one deal.

    The token is an HMAC of a random ``nonce`` under the site's SECRET_KEY (256 bits), so
    the rep who made the link can copy it again from their list, while the database alone
    (a backup, a dump) reveals no working link: lookups go through ``token_hash``, the
    token's SHA-256. Links made before nonces existed have none and cannot be shown again.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64, blank=True, default="")
    asset = models.ForeignKey("cms.AssetPage", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_note = models.CharField(
        max_length=200, blank=True, help_text="Who the link is for, e.g. 'Dana, CFO'."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class AssetFeedback(models.Model):
    """A rep's word on an asset: helpful, outdated, or "I needed ..." (a request)."""

    class Kind(models.TextChoices):
        HELPFUL = "helpful", "Helpful"
        OUTDATED = "outdated", "Outdated"
        REQUEST = "request", "I needed ..."

    asset = models.ForeignKey("cms.AssetPage", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class OutdatedReview(models.Model):
    """An asset put in its owner's needs-review queue because enough distinct reps called it
    outdated (``settings.OUTDATED_FEEDBACK_THRESHOLD``). At most one is open per asset; the
    owner closes it with a reply, which reaches the reps who reported it."""

    asset = models.ForeignKey("cms.AssetPage", on_delete=models.CASCADE, related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    reply = models.TextField(blank=True, max_length=2000)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset"],
                condition=models.Q(resolved_at__isnull=True),
                name="analytics_one_open_outdated_review",
            )
        ]


class FieldMaterial(models.Model):
    """A rep's own material (e.g. a deck they adapted) brought into the library: a draft
    asset in marketing's moderation workflow, crediting the rep, with their note and the
    deal it helped. Once published it shows as "from the field"."""

    asset = models.OneToOneField(
        "cms.AssetPage", on_delete=models.CASCADE, related_name="field_material"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The title the rep gave it: the asset's own may be changed in review, and the rep is not
    # told a title they may not see.
    title = models.CharField(max_length=255, blank=True)
    note = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    published_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ContentRequest(models.Model):
    """A request for marketing to make content: a rep's "I needed ...", or a search that
    found nothing. Marketing's backlog (Reports > Content requests) gives it a status, an
    owner and its stage x pillar cell; other reps back it with a vote instead of asking
    again, and the same words asked again while it is open count as a vote (``key``).

    ``private_note`` is the requester's context (the deal, the customer): marketing and the
    requester read it, other reps never do. When it is done, ``fulfilled_by`` names the asset
    and everyone who asked or voted is notified."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"

    OPEN_STATUSES = (Status.NEW, Status.PLANNED, Status.IN_PROGRESS)

    text = models.CharField(max_length=500)
    key = models.CharField(
        max_length=500, blank=True, db_index=True, help_text="The text's words, normalised."
    )
    source = models.CharField(max_length=20, default="search_gap")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    private_note = models.TextField(
        blank=True, max_length=2000, help_text="The requester's context; other reps never see it."
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.NEW, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to=content_managers_q,
        help_text="Who in marketing answers it.",
    )
    stage = models.ForeignKey(
        "cms.BuyerStage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pillar = models.ForeignKey(
        "cms.Pillar", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.CharField(
        max_length=500, blank=True, help_text="Required when declining; the requesters read it."
    )
    fulfilled_by = models.ForeignKey(
        "cms.AssetPage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The asset that answers it; required when done.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def clean(self):
        from django.core.exceptions import ValidationError

        self.text = (self.text or "").strip()
        self.decline_reason = (self.decline_reason or "").strip()
        if not self.text:
            raise ValidationError({"text": "Say what content is needed."})
        if self.status == self.Status.DECLINED and not self.decline_reason:
            raise ValidationError({"decline_reason": "Say why it is declined: the reps read it."})
        if self.status == self.Status.DONE and self.fulfilled_by_id is None:
            raise ValidationError({"fulfilled_by": "Choose the asset that fulfils the request."})
        if self.status == self.Status.DONE and self._answer_changed():
            self._fulfilled_by_live_check()

    def _answer_changed(self) -> bool:
        """Whether this save makes the request done or names another asset for it (a done
        request whose asset later went out of the library may still be edited otherwise)."""
        stored = ContentRequest.objects.filter(pk=self.pk).values_list("status", "fulfilled_by")
        return stored.first() != (self.Status.DONE, self.fulfilled_by_id)

    def _fulfilled_by_live_check(self) -> None:
        """Only an asset reps can open answers a request: a draft, an unpublished, archived
        or expired asset was accepted, and the askers were told it was "content for other
        teams"."""
        from django.core.exceptions import ValidationError

        if self.answer_live():
            return
        raise ValidationError(
            {
                "fulfilled_by": f"“{self.fulfilled_by.title}” is not live (a draft, "
                "unpublished, archived or expired asset, or in a section that is): reps cannot "
                "open it. Publish it first, or choose a live asset."
            }
        )

    def answer_live(self) -> bool:
        """Whether ``fulfilled_by`` is an asset in the library now (published, not archived
        or expired, nor in a section that is); False when there is none."""
        # Reads of the page tree, needed only for an answered request: not loaded with the
        # models (as ``clean`` imports ValidationError).
        from cms.selectors import asset_original, assets_live

        asset = self.fulfilled_by
        if asset is None or not asset.live:
            return False
        return assets_live().filter(pk=asset_original(asset).pk).exists()


class ContentRequestVote(models.Model):
    """Another rep's "me too" on a request (the requester's own ask is not a vote)."""

    request = models.ForeignKey(ContentRequest, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="analytics_vote_once")
        ]


class ApiKey(models.Model):
    """A bearer token for the analytics API (CRM webhooks, event collectors). Stored hashed;
    requests act as ``user`` and get that user's role.

    An ``integration`` key (a CRM connector, an event collector) may record events on any
    rep's deal; a personal key only on its user's own deals (leads: on every deal). A key
    stops working the moment it is revoked or its expiry passes."""

    class Scope(models.TextChoices):
        PERSONAL = "personal", "Personal (the user's own deals)"
        INTEGRATION = "integration", "Integration (events on any deal)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.PERSONAL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def status(self) -> str:
        from django.utils import timezone

        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


# --- Reporting currency ----------------------------------------------------------------------


class CurrencyRate(models.Model):
    """From ``valid_from`` on (until the currency's next rate), one unit of ``currency`` is
    worth ``rate`` units of the reporting currency (``settings.ANALYTICS_CURRENCY``). A deal's
    amount converts at the rate valid on its close date; with none, it is shown in its own
    currency and never added to converted sums."""

    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    valid_from = models.DateField()
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        help_text="Units of the reporting currency per unit of this currency.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="analytics_rate_once"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="analytics_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"

    def clean(self):
        from django.core.exceptions import ValidationError

        self.currency = (self.currency or "").strip().upper()
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValidationError({"currency": "Use a three-letter currency code, e.g. EUR."})


class AnalyticsSettings(models.Model):
    """The lead's choices for the effectiveness estimates (one row). ``strata`` lists deal
    attributes to compare within, besides segment and owner (always): "industry",
    "size_band", or "attribute:<name>" for a field kept from imports."""

    strata = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


# --- Rollups: declared in analytics.rollups.registry; dashboards read only these -------------


class JobLock(models.Model):
    """A named lock row: whoever inserted it holds the lock until it deletes it."""

    name = models.CharField(max_length=50, unique=True)
    acquired_at = models.DateTimeField()


class FillState(models.Model):
    """How far one declared rollup is filled (Zulip's FillState).

    ``state`` is "started" while a fill runs and "done" after it; a run that finds "started"
    knows the previous fill died (its open transaction was rolled back) and redoes it.
    Event-fed rollups are filled up to event id ``filled_until``, each step in the same
    transaction as its rows, so no event is counted twice. ``version`` grows whenever the
    rollup's rows change in a way its dependants see; ``inputs`` records the versions a derived
    rollup was computed from, so it is recomputed only when one of them moved."""

    STARTED = "started"
    DONE = "done"

    rollup = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=10, default=DONE)
    mode = models.CharField(max_length=12, default="incremental")
    filled_until = models.BigIntegerField(default=0)
    target = models.BigIntegerField(default=0)
    version = models.BigIntegerField(default=0)
    inputs = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.rollup}: {self.state} up to {self.filled_until}"


class RefreshState(models.Model):
    """The one refresh record the dashboard reads: when a refresh was last asked for, queued,
    started and finished, and the moment its numbers are from (``data_as_of``)."""

    requested_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    data_as_of = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)


class DealChanged(models.Model):
    """A deal whose rollup rows must be recomputed (its stage history, close or amount moved).
    Written in the same transaction as the change; the next fill recomputes the deal and
    deletes exactly the rows it read, so a change committed meanwhile is kept for the next."""

    deal_id = models.BigIntegerField(db_index=True)


class DealAssetTouch(models.Model):
    """Per deal and asset: its touches before close, the first one's time and journey stage
    (read from the deal's stage history when the rollup runs) and, for won deals, the credit
    of each attribution model in the deal's own currency."""

    # A rollup row, rewritten whenever its deal changes: no foreign-key constraint (on
    # PostgreSQL its per-row check took 68 of 217 ms when writing 4,000 rows) and no index of
    # its own on the deal (the unique (deal, asset) index serves lookups by deal). Deleting a
    # deal still deletes its rows: Django's CASCADE does it.
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    asset_id = models.BigIntegerField(db_index=True)
    touches = models.PositiveIntegerField()
    first_touch_at = models.DateTimeField()
    first_touch_stage_order = models.IntegerField()
    credit_first = models.FloatField(default=0)
    credit_last = models.FloatField(default=0)
    credit_linear = models.FloatField(default=0)
    credit_u_shaped = models.FloatField(default=0)
    credit_time_decay = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "asset_id"], name="analytics_touch_once")
        ]


class UsageDaily(models.Model):
    """Events per asset, day (UTC) and kind."""

    asset_id = models.BigIntegerField()
    day = models.DateField()
    kind = models.CharField(max_length=20)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset_id", "day", "kind"], name="analytics_daily_once")
        ]
        # Covers the per-window sums (asset_usage) without touching the table.
        indexes = [
            models.Index(fields=["asset_id", "kind", "day", "count"], name="analytics_daily_window")
        ]


class AssetReach(models.Model):
    """Per asset, the last day each rep (``actor`` "rep") and each deal ("deal") had an event
    of it: "distinct reps since D" is the count of rows with ``last_day >= D``."""

    asset_id = models.BigIntegerField()
    actor = models.CharField(max_length=4)
    actor_id = models.BigIntegerField()
    last_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset_id", "actor", "actor_id"], name="analytics_reach_once"
            )
        ]
        # Covers the per-window distinct counts (asset_usage) without touching the table.
        indexes = [
            models.Index(fields=["asset_id", "actor", "last_day"], name="analytics_reach_window")
        ]


class UsageChange(models.Model):
    """What the usage rollups changed since ``asset_usage`` last read them, so that it adds the
    changes instead of summing every ``UsageDaily`` and ``AssetReach`` row again.

    A row says: ``count`` events (or reps, or deals) of ``field`` (a ``USAGE_FIELDS`` name)
    moved, for the asset, from day ``old_day`` (none: not counted before) to day ``new_day``.
    A row with ``field`` "reset" says a usage rollup was rebuilt: recompute everything."""

    RESET = "reset"

    asset_id = models.BigIntegerField(null=True)
    field = models.CharField(max_length=20)
    old_day = models.DateField(null=True)
    new_day = models.DateField(null=True)
    count = models.IntegerField(default=0)


class AssetUsage(models.Model):
    """Per asset and window ("90d", "365d", "all"): events per kind, distinct reps, deals."""

    asset_id = models.BigIntegerField()
    window = models.CharField(max_length=10)
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset_id", "window"], name="analytics_usage_once")
        ]


class AssetStats(models.Model):
    """Per asset and window: the stratified effect and its verdict, the raw and stage-matched
    comparisons, and revenue (``analytics.rollups.effects``)."""

    asset_id = models.BigIntegerField()
    window = models.CharField(max_length=10)
    data = models.JSONField(default=dict)
    verdict = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset_id", "window"], name="analytics_stats_once")
        ]


class RollupSnapshot(models.Model):
    """Small computed documents: the overview, the heat map, search gaps, per window; and
    filtered views of the asset table, computed on first request (``key`` "view:...")."""

    key = models.CharField(max_length=50)
    window = models.CharField(max_length=10, default="all")
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="analytics_snapshot_once")
        ]
