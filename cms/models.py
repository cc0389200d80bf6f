"""The content library: taxonomies, the library tree, assets and their documents.

An asset is a Wagtail page, so drafts, revisions, moderation workflows, scheduled publishing
and expiry come from Wagtail itself. Who may see an asset is decided by team restrictions on the
asset and on every library section above it (see ``cms.selectors.allowed_teams``).
"""

from __future__ import annotations

import datetime
import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import strip_tags
from django.utils.text import slugify
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.documents.models import AbstractDocument, Document
from wagtail.fields import RichTextField
from wagtail.models import Page, PagePermissionTester
from wagtail.search import index

from accounts.models import NamedWithSlug, Team
from accounts.people import person_name_with_username
from accounts.roles import content_managers_q
from cms.panels import DocumentProcessingPanel


class Taxonomy(NamedWithSlug, models.Model):
    """A named term editors pick from; the slug is what filters and search facets use (made
    from the name when left blank, see ``NamedWithSlug``)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True)

    panels = [FieldPanel("name"), FieldPanel("slug")]

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)


def _lines(text: str) -> list[str]:
    """A field of one name per line (CRM stage names, CRM names): its non-blank lines, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class BuyerStage(Taxonomy):
    """A step of the buyer journey, in the order the company configures.

    ``crm_stage_names`` lists, one per line, the CRM opportunity stages this journey stage
    covers; deal imports map stages through it and never guess.
    """

    sort_order = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    crm_stage_names = models.TextField(
        blank=True, help_text="CRM stage names this journey stage covers, one per line."
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("sort_order"),
        FieldPanel("description"),
        FieldPanel("crm_stage_names"),
    ]

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "buyer stage"

    def crm_stages(self) -> list[str]:
        return _lines(self.crm_stage_names)

    def clean(self):
        """A CRM stage name maps to one journey stage: deal imports compare names ignoring
        case and surrounding spaces and keep the first stage in sort order that lists one, so
        a name listed by another stage too would be silently ignored here."""
        super().clean()
        mine = {name.casefold(): name for name in self.crm_stages()}
        clashes = []
        for other in BuyerStage.objects.exclude(pk=self.pk).order_by("sort_order", "name"):
            for name in other.crm_stages():
                if name.casefold() in mine:
                    clashes.append(f"“{mine.pop(name.casefold())}” is already on “{other.name}”")
        if clashes:
            raise ValidationError(
                {
                    "crm_stage_names": "A CRM stage maps to one buyer stage: "
                    + "; ".join(clashes)
                    + ". Remove it here or there."
                }
            )


class Pillar(Taxonomy):
    """One of Mark Cranney's three questions: Why Buy? / Why Buy You? / Why Buy Now?"""

    question = models.CharField(max_length=200, blank=True)
    sort_order = models.PositiveIntegerField(default=0)

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("question"),
        FieldPanel("sort_order"),
    ]

    class Meta:
        ordering = ["sort_order", "name"]


class AssetType(Taxonomy):
    """A kind of asset. ``shareable_with_buyers`` is the default for its assets: off for
    internal material (battlecards, demo scripts), which reps must never send to a buyer.
    Each asset may override it.

    Only who holds ``cms.set_buyer_sharing`` (enablement leads and admins) sees and may change
    ``shareable_with_buyers``; for anyone else the field is left out of the form, so a forged
    POST changes nothing. A marketer's edit of an asset reaches buyers only after approval,
    but this one switch reached every asset of the type at once with none (an outside
    audit: a marketer made every battlecard shareable)."""

    shareable_with_buyers = models.BooleanField(
        default=True, help_text="Whether assets of this type may be sent to buyers by link."
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("shareable_with_buyers", permission="cms.set_buyer_sharing"),
    ]

    class Meta(Taxonomy.Meta):
        verbose_name = "asset type"
        permissions = [("set_buyer_sharing", "Can choose which asset types may go to buyers")]


class Product(Taxonomy):
    pass


class CrmNamedTaxonomy(Taxonomy):
    """A term a CRM may name differently: deals come with an industry column and fields such
    as "Competitor" or "Persona" whose values are the CRM's words ("Retail"), not the
    library's ("Retail and e-commerce"). ``crm_names`` lists those words, one per line; deal
    mode (``analytics.deal_panel.deal_search_params``) matches a deal's value to a term by
    slug, name or CRM name, ignoring case, and never guesses."""

    crm_names = models.TextField(
        "CRM names",
        blank=True,
        help_text=(
            "What your CRM calls this term when it says it differently, one per line (e.g. "
            "“Retail” for “Retail and e-commerce”). Deal mode matches a deal to this term by "
            "its name, its slug or any of these."
        ),
    )

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("crm_names")]

    class Meta(Taxonomy.Meta):
        abstract = True

    def crm_name_list(self) -> list[str]:
        return _lines(self.crm_names)

    def clean(self):
        """A value a deal may carry names one term of a kind: a CRM name another term lists,
        or that is another term's name or slug, is refused naming that term (compared as
        deal mode compares them, ignoring case and surrounding spaces); so is a name or slug
        that another term lists as a CRM name. Otherwise deal mode would pick one of the two
        silently."""
        super().clean()
        kind = self._meta.verbose_name
        others = list(type(self)._default_manager.exclude(pk=self.pk))
        errors = {}
        clashes = []
        for name in dict.fromkeys(self.crm_name_list()):
            other, how = _crm_name_owner(name, others)
            if other is not None:
                clashes.append(f"“{name}” is {how} “{other.name}”")
        if clashes:
            errors["crm_names"] = (
                f"A CRM name maps to one {kind}: "
                + "; ".join(clashes)
                + f". Remove it here, or change that {kind}."
            )
        for field in ("name", "slug"):
            value = getattr(self, field)
            listed = next((o for o in others if value and value.casefold() in _casefolded(o)), None)
            if listed is not None and field not in errors:
                errors[field] = (
                    f"“{value}” is a CRM name of the {kind} “{listed.name}”: a deal saying it "
                    f"would match both. Remove it there, or choose another {field}."
                )
        if errors:
            raise ValidationError(errors)


def _casefolded(term: CrmNamedTaxonomy) -> set[str]:
    return {name.casefold() for name in term.crm_name_list()}


def _crm_name_owner(name: str, others: list[CrmNamedTaxonomy]):
    """The other term ``name`` already names, and how ("already on", "the name of"...)."""
    folded = name.casefold()
    for other in others:
        if folded == other.name.casefold():
            return other, "the name of"
        if folded == other.slug.casefold():
            return other, "the slug of"
        if folded in _casefolded(other):
            return other, "already on"
    return None, ""


class Industry(CrmNamedTaxonomy):
    class Meta(CrmNamedTaxonomy.Meta):
        verbose_name_plural = "industries"


class Persona(CrmNamedTaxonomy):
    pass


class Competitor(CrmNamedTaxonomy):
    pass


class LibraryDocument(AbstractDocument):
    """A Wagtail document with the text, page count and thumbnail extracted from its file.

    ``extracted_text`` is the whole text; PDFs and decks also keep it page by page (slide by
    slide, notes included) in ``page_texts`` (``LibraryDocumentPage``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Processing"
        DONE = "done", "Processed"
        FAILED = "failed", "Could not be processed"
        PROTECTED = "protected", "Protected by a password"
        UNSUPPORTED = "unsupported", "No text extraction for this type"

    extracted_text = models.TextField(blank=True, editable=False)
    extraction_status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, editable=False
    )
    extraction_error = models.TextField(blank=True, editable=False)
    page_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    thumbnail = models.FileField(upload_to="thumbnails", blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When processing was last asked for (upload, new file, "Process again", a scheduler
    # retry), and how many times the scheduler retried a document stuck pending since
    # (``cms.documents.documents_stuck_retry``).
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    automatic_retries = models.PositiveSmallIntegerField(default=0, editable=False)

    admin_form_fields = Document.admin_form_fields

    search_fields = AbstractDocument.search_fields + [index.SearchField("extracted_text")]

    class Meta(AbstractDocument.Meta):
        verbose_name = "document"

    def clean(self):
        """Wagtail's extension check, only when there is a file: after the upload form refused
        one (``cms.forms``, with its reason) there is none, and Wagtail's check then added
        "File extension “” is not allowed" to every refusal."""
        if self.file:
            super().clean()


class LibraryDocumentPage(models.Model):
    """The text of one page of a document's PDF, or one slide of its deck with its notes.

    The interface search builds per-page hits on: rows are written only by document
    processing (``cms.documents``), all of a document's pages in the transaction that stores
    its ``extracted_text``, so they always describe the current file: ``number`` runs from 1
    to the number of pages read (``page_count`` may be larger when a page limit applied), a
    page without text has a row with empty ``text``, and every page's text is also in the
    document's ``extracted_text``, in page order. Documents without pages (Word, Excel, text)
    have no rows. A PDF page can be drawn with ``cms.documents.document_page_preview`` (kept
    in the cache: ``page_preview_png``).
    """

    document = models.ForeignKey(
        settings.WAGTAILDOCS_DOCUMENT_MODEL, on_delete=models.CASCADE, related_name="page_texts"
    )
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="unique_document_page")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} page {self.number}"


class LeafPagePermissionTester(PagePermissionTester):
    """Wagtail's tester, except that deleting or moving a page without children is decided
    from the page's own row. Wagtail asks the database whether any page in the subtree is
    live (or owned by someone else); for a leaf the subtree is the page itself, so the answer
    is the same, without a query per row of every admin listing (the page search listed 20
    assets with 40 such queries, each a scan of the page table on SQLite)."""

    def can_delete(self, ignore_bulk=False):
        if self.page.numchild or not self.user.is_active or self.user.is_superuser:
            return super().can_delete(ignore_bulk=ignore_bulk)
        if self.page_is_root:
            return False
        if "change" in self.permissions:
            return "publish" in self.permissions or not self.page.live
        if "add" in self.permissions:
            own = self.page.owner_id == self.user.pk
            return own if "publish" in self.permissions else own and not self.page.live
        return False


class RestrictableMixin(models.Model):
    """Pages that can be limited to teams. No teams means everyone signed in."""

    restricted_teams = ParentalManyToManyField(
        Team,
        blank=True,
        help_text="Only these teams (and content managers) see this. Empty means everyone.",
    )

    class Meta:
        abstract = True

    def permissions_for_user(self, user):
        return LeafPagePermissionTester(user, self)


class PreviewedAsServedMixin:
    """Pages whose preview is served as the live page is. Wagtail renders a preview from the
    template and the page alone; what the template shows besides the page is built by the
    page's view (``serve``), so a preview (the editor's, a revision's, a reviewer's) goes
    through it. Without the view, a reviewer's preview of an asset said "No owner", a
    current review status and no related assets."""

    def serve_preview(self, request, mode_name):
        return self.serve(request)


# The earliest go-live or expiry a page may be scheduled for, and how far ahead a review-by
# date may be set: a year typed wrong (0001-01-01, 9999-12-31) is refused rather than kept,
# since it would take the page out of every schedule and every review.
EARLIEST_SCHEDULE = datetime.date(2000, 1, 1)
#: A go-live or expiry further ahead is a typo (9999-12-31 passed; an asset that never expires
#: has no expiry).
SCHEDULE_MAX_YEARS = 100
REVIEW_BY_MAX_YEARS = 5


class LibraryPageForm(WagtailAdminPageForm):
    """The editor of library pages: go-live and expiry dates before ``EARLIEST_SCHEDULE``
    or more than ``SCHEDULE_MAX_YEARS`` ahead are refused under their field (Wagtail takes
    any year, and refuses only an expiry before now, on save), as is a title holding a
    direction control (``validate_no_direction_controls``)."""

    def clean_title(self):
        title = self.cleaned_data.get("title")
        validate_no_direction_controls(title)
        return title

    def clean_go_live_at(self):
        return self._schedule_checked("go_live_at", "go-live")

    def clean_expire_at(self):
        return self._schedule_checked("expire_at", "expiry")

    def _schedule_checked(self, name: str, what: str):
        value = self.cleaned_data.get(name)
        if value and value.date() < EARLIEST_SCHEDULE:
            raise ValidationError(
                f"A {what} date of {date_format(value.date(), 'j F Y')} is before "
                f"{date_format(EARLIEST_SCHEDULE, 'j F Y')}: check the year."
            )
        latest = _years_after(timezone.localdate(), SCHEDULE_MAX_YEARS)
        if value and value.date() > latest:
            never = " (an asset that never expires has none)" if name == "expire_at" else ""
            raise ValidationError(
                f"A {what} date of {date_format(value.date(), 'j F Y')} is more than "
                f"{SCHEDULE_MAX_YEARS} years ahead: check the year{never}."
            )
        return value


class LibraryPage(PreviewedAsServedMixin, RestrictableMixin, Page):
    """The library home or one of its sections. Sections can nest."""

    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    settings_panels = Page.settings_panels + [FieldPanel("restricted_teams")]

    base_form_class = LibraryPageForm

    subpage_types = ["cms.LibraryPage", "cms.AssetPage"]
    template = "cms/library_page.html"

    def serve(self, request, *args, **kwargs):
        # The page hands its request to its view, imported here because cms.views reads the
        # library through cms.selectors, which import these models (at load time the import
        # would be circular).
        from cms.views import library_page_serve

        return library_page_serve(request, page=self)


class AssetPageForm(LibraryPageForm):
    """The asset editor: only people who manage content may be chosen as its owner (the
    form refuses anyone else, whatever the browser sends). An owner who no longer manages
    content stays the choice shown, so the asset still saves unchanged until someone picks
    another owner."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            owners = content_managers_q() | Q(pk=self.instance.owner_id)
            users = get_user_model().objects.filter(owners).distinct()
            self.fields["owner"].queryset = users
            self.fields["owner"].label_from_instance = person_name_with_username

    def clean_review_by(self):
        """A review-by date set here must not have passed (the asset would be overdue the
        moment it is published) nor be more than ``REVIEW_BY_MAX_YEARS`` years ahead (it
        would never come up for review). One that was already there still saves (a typo
        fixed on an overdue asset)."""
        review_by = self.cleaned_data.get("review_by")
        if not review_by or "review_by" not in self.changed_data:
            return review_by
        today = timezone.localdate()
        if review_by < today:
            raise ValidationError(
                f"{date_format(review_by, 'j F Y')} has passed: the asset would be due for "
                "review as soon as it is published. Choose today or a later date."
            )
        latest = _years_after(today, REVIEW_BY_MAX_YEARS)
        if review_by > latest:
            raise ValidationError(
                f"A review-by date of {date_format(review_by, 'j F Y')} is more than "
                f"{REVIEW_BY_MAX_YEARS} years ahead: the asset would never be reviewed. "
                f"Choose {date_format(latest, 'j F Y')} or an earlier date."
            )
        return review_by

    def clean(self):
        """Submitting or publishing an asset with nothing in it (no file, no link, no body
        text) is refused: reps found it in search and read "No file attached yet". A draft
        may still be saved without them."""
        cleaned = super().clean()
        empty = not (
            cleaned.get("document")
            or cleaned.get("external_url")
            or strip_tags(cleaned.get("body") or "").strip()
        )
        if empty and any(action in self.data for action in GOING_OUT):
            self.add_error(
                "document",
                "Choose a file, give a link or write the body before submitting or "
                "publishing: reps would find an asset with nothing in it. "
                "Save a draft to finish it later.",
            )
        return cleaned


#: The editor's buttons that send a page towards reps (publish, submit to the workflow, or
#: take a workflow action such as approve): an empty asset may be saved as a draft, not these.
GOING_OUT = ("action-publish", "action-submit", "action-restart-workflow", "action-workflow-action")


def _years_after(day: datetime.date, years: int) -> datetime.date:
    """``day`` in ``years`` years (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


#: Unicode's explicit direction controls (UAX #9: embeddings, overrides, isolates and the
#: character ending them). Invisible, they reorder what follows: "Pricing<U+202E>fdp.exe"
#: reads as "Pricingexe.pdf". A name never needs them (right-to-left text orders itself), so
#: titles and file names refuse them; the marks U+200E, U+200F and U+061C stay allowed.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def validate_no_direction_controls(value: str) -> None:
    """Refuse ``value`` if it holds a direction control, naming it and where it is."""
    for position, character in enumerate(value or "", start=1):
        if character in DIRECTION_CONTROLS:
            raise ValidationError(
                "Character %(position)s is an invisible U+%(code)s (%(name)s), which changes "
                "the order the rest is shown in: it can make a name read as another, such as "
                "a false file type. Remove it.",
                code="direction_control",
                params={
                    "position": position,
                    "code": f"{ord(character):04X}",
                    "name": unicodedata.name(character),
                },
            )


# The schemes a link asset may have: reps open it through /assets/<id>/open/ and buyers
# through a share link, both a redirect that a browser follows, so web addresses only (the
# redirect refuses ftps:// and browsers no longer open ftp://).
LINK_SCHEMES = ("http", "https")
_LINK_STARTS = " or ".join(f"{name}://" for name in LINK_SCHEMES)


def validate_link_scheme(value: str) -> None:
    """Refuse a link asset's address in a scheme the library cannot open (URLField alone
    accepts ftp:// and ftps://). An address without a scheme is URLField's to refuse."""
    scheme, separator, _ = value.partition("://")
    if separator and scheme.lower() not in LINK_SCHEMES:
        raise ValidationError(
            "The external URL must start with %(allowed)s: the library cannot open "
            "“%(value)s” for reps or buyers.",
            code="link_scheme",
            params={"allowed": _LINK_STARTS, "value": value},
        )


class AssetPage(PreviewedAsServedMixin, RestrictableMixin, Page):
    """One piece of collateral: a file (LibraryDocument) or an external link such as a video."""

    summary = models.TextField(max_length=1000)
    body = RichTextField(blank=True)
    document = models.ForeignKey(
        settings.WAGTAILDOCS_DOCUMENT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assets",
    )
    # Up to 2,000 characters: SharePoint and Stream links run past URLField's default 200.
    external_url = models.URLField(
        max_length=2000,
        blank=True,
        validators=[validate_link_scheme],
        help_text=f"A link instead of a file, e.g. a video ({_LINK_STARTS}).",
    )
    transcript = models.ForeignKey(
        settings.WAGTAILDOCS_DOCUMENT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transcript_of",
        help_text="The video's captions or transcript (.vtt or .srt): its words become searchable.",
    )
    thumbnail_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Overrides the thumbnail made from the file.",
    )
    asset_type = models.ForeignKey(AssetType, null=True, on_delete=models.PROTECT)
    stages = ParentalManyToManyField(BuyerStage, related_name="assets")
    pillars = ParentalManyToManyField(Pillar, related_name="assets")
    products = ParentalManyToManyField(Product, blank=True, related_name="assets")
    industries = ParentalManyToManyField(Industry, blank=True, related_name="assets")
    personas = ParentalManyToManyField(Persona, blank=True, related_name="assets")
    competitors = ParentalManyToManyField(Competitor, blank=True, related_name="assets")
    review_by = models.DateField(
        null=True, blank=True, help_text="Defaults to the review period after first publishing."
    )
    language = models.CharField(max_length=10, default="en")
    buyer_description = models.TextField(
        blank=True,
        max_length=2000,
        help_text="What a buyer reads on a share link. The summary above stays internal.",
    )
    buyer_sharing = models.CharField(
        max_length=10,
        choices=[
            ("", "As its asset type says"),
            ("allow", "Shareable with buyers"),
            ("deny", "Never shared with buyers"),
        ],
        blank=True,
        default="",
        help_text="Overrides the asset type's 'shareable with buyers' default.",
    )
    # The asset's owner is Wagtail's own Page.owner, shown in the governance panel.
    archived = models.BooleanField(
        default=False, help_text="Archived assets disappear from everything reps see."
    )

    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                FieldPanel("document"),
                DocumentProcessingPanel("document"),
                FieldPanel("external_url"),
                FieldPanel("transcript"),
                DocumentProcessingPanel("transcript"),
                FieldPanel("thumbnail_image"),
            ],
            heading="File or link",
        ),
        MultiFieldPanel(
            [
                FieldPanel("asset_type"),
                FieldPanel("stages", widget=forms.CheckboxSelectMultiple),
                FieldPanel("pillars", widget=forms.CheckboxSelectMultiple),
                FieldPanel("products"),
                FieldPanel("industries"),
                FieldPanel("personas"),
                FieldPanel("competitors"),
                FieldPanel("language"),
            ],
            heading="Placement",
        ),
        MultiFieldPanel(
            [FieldPanel("buyer_sharing"), FieldPanel("buyer_description")],
            heading="Sharing with buyers",
        ),
        MultiFieldPanel(
            [FieldPanel("owner"), FieldPanel("review_by"), FieldPanel("archived")],
            heading="Governance",
        ),
    ]
    settings_panels = Page.settings_panels + [FieldPanel("restricted_teams")]
    base_form_class = AssetPageForm

    parent_page_types = ["cms.LibraryPage"]
    subpage_types: list[str] = []
    template = "cms/asset_page.html"

    search_fields = Page.search_fields + [
        index.SearchField("summary"),
        index.SearchField("body"),
    ]

    def with_content_json(self, content):
        """The page as a revision has it, owner included. Wagtail keeps the owner from the
        page's row (for Wagtail the owner is who created the page); here it is the asset's
        owner, chosen in the editor, so a hand-over is shown in the draft and takes effect
        when the change is published, like any other field."""
        page = super().with_content_json(content)
        if "owner" in content:
            page.owner_id = content["owner"]
        return page

    def clean(self):
        super().clean()
        if self.document_id and self.external_url:
            raise ValidationError({"external_url": "Give a file or a link, not both."})
        if self.transcript_id and self.transcript.file_extension.lower() not in ("vtt", "srt"):
            raise ValidationError(
                {"transcript": "A transcript is a WebVTT (.vtt) or SubRip (.srt) captions file."}
            )

    @property
    def shareable_with_buyers(self) -> bool:
        """The asset's own choice, else its type's default; no type means not shareable."""
        if self.buyer_sharing:
            return self.buyer_sharing == "allow"
        return bool(self.asset_type and self.asset_type.shareable_with_buyers)

    def serve(self, request, *args, **kwargs):
        # Imported here for the reason given in LibraryPage.serve (circular at load time).
        from cms.views import asset_page_serve

        return asset_page_serve(request, page=self)


class OwnerReminder(models.Model):
    """That an asset's owner was told its review date passed (``REVIEW``) or that it expired
    (``EXPIRY``), for which date (``due``: the review-by date, or the expiry time in UTC, in
    ISO 8601). One row per asset, kind, date and owner, unique: a scheduler tick, a restart
    or a second scheduler never tells the owner twice, a new date that passes is told again,
    and so is a new owner the asset is handed to. Kept apart from the page because a page's
    own fields are rewritten from its revision at every publish."""

    class Kind(models.TextChoices):
        REVIEW = "review", "Review date passed"
        EXPIRY = "expiry", "Expired"

    asset = models.ForeignKey(AssetPage, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due = models.CharField(max_length=32)
    # Who was told (migration 0008 gave the rows recorded before it the owner of the day).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "kind", "due", "owner"], name="owner_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.kind} {self.due}"
