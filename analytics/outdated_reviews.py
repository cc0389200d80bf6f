"""Feedback that acts: when ``settings.OUTDATED_FEEDBACK_THRESHOLD`` distinct reps call an
asset outdated, it enters its owner's needs-review queue (Reports > Needs review, through
the cms hook ``needs_review_flags``) with their comments; the owner's reply closes it and
reaches every rep who reported it. Writes first, then reads."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import user_manages_content
from analytics.models import AssetFeedback, OutdatedReview
from cms.models import AssetPage
from cms.selectors import asset_visible_to
from notifications.services import notify


def outdated_review_check(*, asset: AssetPage) -> OutdatedReview | None:
    """Open a review of ``asset`` when enough distinct reps called it outdated since its
    last review closed, and tell its owner; returns the new review, or None (below the
    threshold, or one is already open)."""
    if OutdatedReview.objects.filter(asset=asset, resolved_at__isnull=True).exists():
        return None
    if len(outdated_reports(asset=asset)["reporters"]) < settings.OUTDATED_FEEDBACK_THRESHOLD:
        return None
    try:
        with transaction.atomic():
            review = OutdatedReview.objects.create(asset=asset)
    except IntegrityError:  # another rep's report opened it at the same moment
        return None
    owner = asset.owner
    if owner is not None and owner.is_active and user_manages_content(owner):  # as reminders
        count = len(outdated_reports(asset=asset)["reporters"])
        notify(
            users=[owner],
            kind="asset_outdated",
            text=f"{count} reps say “{asset.title}” is outdated: it needs your review.",
            url=reverse("analytics_admin:outdated_review", args=[review.pk]),
            asset_id=asset.pk,
        )
    return review


def outdated_review_reply(*, review: OutdatedReview, user, reply: str) -> OutdatedReview:
    """The owner answers: the review closes and every rep who reported the asset outdated
    (and may still see it) is told the reply. An empty reply raises ValidationError naming
    ``reply``; a closed review raises one naming ``review``. Nothing is saved then."""
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": "Write the reply the reps will read."})
    if review.resolved_at is not None:
        raise ValidationError({"review": "This review was already answered."})
    reporters = outdated_reports(asset=review.asset)["reporters"]
    review.reply, review.replied_by, review.resolved_at = reply, user, timezone.now()
    with transaction.atomic():
        review.full_clean()
        review.save()
        asset = review.asset
        told = [rep for rep in reporters if asset_visible_to(rep, asset)]
        text = f"The owner of “{asset.title}” answered your “outdated” report: {reply}"
        notify(users=told, kind="outdated_reply", text=text, url=asset.url or "", asset_id=asset.pk)
    return review


# --- Reads ------------------------------------------------------------------------------------


def outdated_reports(*, asset: AssetPage) -> dict:
    """The "outdated" feedback on ``asset`` since its last review closed (all of it when
    none has): ``feedback`` (newest first) and ``reporters`` (distinct users)."""
    closed = (
        OutdatedReview.objects.filter(asset=asset, resolved_at__isnull=False)
        .order_by("-resolved_at")
        .values_list("resolved_at", flat=True)
        .first()
    )
    feedback = AssetFeedback.objects.filter(
        asset=asset, kind=AssetFeedback.Kind.OUTDATED, user__isnull=False
    ).select_related("user")
    if closed is not None:
        feedback = feedback.filter(created_at__gt=closed)
    feedback = list(feedback.order_by("-created_at"))
    reporters = list({item.user_id: item.user for item in feedback}.values())
    return {"feedback": feedback, "reporters": reporters}


def outdated_reviews_open() -> dict[int, OutdatedReview]:
    """The open reviews by asset id."""
    return {r.asset_id: r for r in OutdatedReview.objects.filter(resolved_at__isnull=True)}
