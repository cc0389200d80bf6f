"""Rep-made materials: a rep submits their own file with a note and the deal it helped; it
becomes a draft asset in marketing's moderation workflow (owned by the section's owner, or
the nearest section above it with one; the rep credited), and once published it shows "from
the field" and the rep is told. When its file cannot be read (processing runs after the
submission), the rep and the reviewers are told (``field_material_file_unreadable``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import AbstractGroupApprovalTask

from accounts.people import person_name_with_username
from analytics.models import Deal, FieldMaterial
from cms.forms import upload_problem
from cms.models import (
    AssetPage,
    AssetType,
    LibraryDocument,
    LibraryPage,
    validate_no_direction_controls,
)
from cms.selectors import asset_visible_to
from notifications.models import Notification
from notifications.services import notify

UNREADABLE_KIND = "field_material_unreadable"
UNREADABLE_REVIEW_KIND = "field_review_unreadable"
UNREADABLE = (LibraryDocument.Status.FAILED, LibraryDocument.Status.PROTECTED)


def _section() -> LibraryPage | None:
    """Where submissions wait: the section whose slug is ``FIELD_MATERIALS_SECTION``, else
    the library's home."""
    slug = settings.FIELD_MATERIALS_SECTION
    sections = LibraryPage.objects.all()
    return (sections.filter(slug=slug).first() if slug else None) or sections.order_by(
        "depth", "path"
    ).first()


def _owner_for(section: LibraryPage):
    """Who owns material that arrives in ``section``: its owner, else the nearest section
    above it that has one (the library home usually has none), else nobody."""
    for page in [section, *reversed(section.get_ancestors().specific())]:
        if getattr(page, "owner_id", None):
            return page.owner
    return None


def field_material_submit(
    *, user, title: str, upload: UploadedFile | None, note: str, deal: Deal | None = None
) -> FieldMaterial:
    """Bring ``user``'s file into the library as a draft submitted for moderation. Bad
    input raises ValidationError naming the field (title, file, note, deal) and nothing is
    saved."""
    title, note = (title or "").strip(), (note or "").strip()
    problems = {}
    if not title:
        problems["title"] = "Give the material a title."
    else:
        try:
            validate_no_direction_controls(title)
        except ValidationError as error:
            problems["title"] = error.messages[0]
    if not note:
        problems["note"] = "Say what it is and how it helped."
    if upload is None:
        problems["file"] = "Choose the file."
    elif problem := upload_problem(upload):
        problems["file"] = problem
    if deal is not None and deal.owner_id != user.pk:
        problems["deal"] = "Pick one of your own deals."
    section = _section()
    if section is None:
        problems["title"] = "The library has no section to receive materials yet."
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        document = get_document_model()(title=title, uploaded_by_user=user)
        document.file.save(upload.name, upload, save=False)
        document.full_clean()
        document.save()
        asset = AssetPage(
            title=title,
            summary=note[:1000],
            document=document,
            # A first guess marketing corrects in review: most field material is a deck.
            asset_type=AssetType.objects.filter(slug="deck").first() or AssetType.objects.first(),
            live=False,
            owner=_owner_for(section),
        )
        section.add_child(instance=asset)
        if deal is not None and deal.journey_stage_id:
            asset.stages.set([deal.journey_stage_id])
        asset.save_revision(user=user)
        workflow = asset.get_workflow()
        if workflow is not None:
            workflow.start(asset, user)
        material = FieldMaterial(asset=asset, submitted_by=user, deal=deal, title=title, note=note)
        material.full_clean()
        material.save()
    return material


def field_material_published(*, asset: AssetPage) -> bool:
    """An asset was published: when it came from the field, tell the rep once. A rep who may
    not see it as published (marketing restricted it to other teams) hears that it is in the
    library with restricted access, under the title they gave it, with no link: the asset's
    own title and address are for the teams that may open it."""
    material = FieldMaterial.objects.filter(asset=asset, published_notice_at__isnull=True).first()
    if material is None:
        return False
    FieldMaterial.objects.filter(pk=material.pk).update(published_notice_at=timezone.now())
    rep = material.submitted_by
    if rep is not None and asset_visible_to(rep, asset):
        text = f"Your material “{asset.title}” is in the library, credited to you."
        url, about = asset.url or "", asset.pk
    else:
        yours = f"Your material “{material.title}”" if material.title else "Your material"
        text = f"{yours} was added to the library with restricted access, credited to you."
        url, about = "", None  # names only what the rep gave: theirs to see
    notify(users=[rep], kind="field_material_published", text=text, url=url, asset_id=about)
    return True


def field_credit(*, asset: AssetPage) -> FieldMaterial | None:
    """The rep credited for a published asset that came from the field, or None."""
    if not asset.live:
        return None
    return FieldMaterial.objects.select_related("submitted_by").filter(asset=asset).first()


def field_material_file_unreadable(*, document: LibraryDocument) -> int:
    """``document`` was processed: when its text could not be read (failed, protected) and
    it is the file of a rep's material still waiting for review, tell the rep (their own
    title, why, and what to do; no link into the admin they cannot open) and the reviewers of
    its moderation (why, with a link to its editor, which shows the same warning). Neither
    is told the same thing twice. Returns how many people were told."""
    if document.extraction_status not in UNREADABLE:
        return 0
    materials = FieldMaterial.objects.select_related("asset", "submitted_by").filter(
        asset__document=document, asset__live=False
    )
    told = 0
    for material in materials:
        told += _tell_rep(material, document)
        told += _tell_reviewers(material, document)
    return told


def _why(document: LibraryDocument) -> str:
    if document.extraction_status == LibraryDocument.Status.PROTECTED:
        lead = "is protected by a password, so it could not be read"
    else:
        lead = "could not be read"
    reason = document.extraction_error.strip()
    return f"{lead}: {reason}" if reason else f"{lead}."


def _not_told_yet(users, *, kind: str, text: str) -> list:
    told = set(
        Notification.objects.filter(kind=kind, text=text[:500], user__in=users).values_list(
            "user_id", flat=True
        )
    )
    return [user for user in users if user.pk not in told]


def _tell_rep(material: FieldMaterial, document: LibraryDocument) -> int:
    rep = material.submitted_by
    if rep is None:
        return 0
    yours = f"Your material “{material.title}”" if material.title else "Your material"
    text = (
        f"{yours} went to marketing, but its file {_why(document)} Reps will not find its "
        "text in search. Save it again without a password (or export it as a PDF) and "
        "submit that copy."
    )
    url = reverse("analytics:field_material_new")
    users = _not_told_yet([rep], kind=UNREADABLE_KIND, text=text)
    return len(notify(users=users, kind=UNREADABLE_KIND, text=text, url=url))


def _reviewers(asset: AssetPage) -> list:
    """Who moderates ``asset`` now: the groups of its current approval task (as Wagtail's
    "submitted" mail goes to them) who may open the admin; else its owner."""
    task = asset.current_workflow_task
    task = task.specific if task is not None else None
    people = []
    if isinstance(task, AbstractGroupApprovalTask):
        people = get_user_model().objects.filter(groups__in=task.groups.all()).distinct()
    elif asset.owner is not None:
        people = [asset.owner]
    return [user for user in people if user.has_perm("wagtailadmin.access_admin")]


def _tell_reviewers(material: FieldMaterial, document: LibraryDocument) -> int:
    asset = material.asset
    rep = material.submitted_by
    by = f", submitted from the field by {person_name_with_username(rep)}," if rep else ""
    text = (
        f"The file of “{asset.title}”{by} {_why(document)} Reps will not find its text; "
        "ask for a readable copy before approving it."
    )
    url = reverse("wagtailadmin_pages:edit", args=[asset.pk])
    users = _not_told_yet(_reviewers(asset), kind=UNREADABLE_REVIEW_KIND, text=text)
    made = notify(users=users, kind=UNREADABLE_REVIEW_KIND, text=text, url=url, asset_id=asset.pk)
    return len(made)
