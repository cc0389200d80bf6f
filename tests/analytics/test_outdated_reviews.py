"""Feedback that acts: enough distinct reps saying "outdated" puts an asset in its owner's
needs-review queue with their comments; the owner's reply reaches those reps."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import OutdatedReview
from analytics.outdated_reviews import outdated_review_reply
from analytics.services import feedback_create
from notifications.models import Notification
from tests.factories import make_asset, make_team, make_user

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owned():
    owner = make_user("owner", role=MARKETER)
    return make_asset("2023 pricing deck", owner=owner), owner


def test_one_rep_twice_is_not_enough_but_two_reps_are(owned):
    asset, owner = owned
    rep, other = make_user(role=REP), make_user(role=REP)
    feedback_create(user=rep, asset=asset, kind="outdated", text="Old prices")
    feedback_create(user=rep, asset=asset, kind="outdated", text="Still old")
    assert not OutdatedReview.objects.exists()
    feedback_create(user=other, asset=asset, kind="outdated", text="Logo from 2021")
    feedback_create(user=make_user(role=REP), asset=asset, kind="outdated")
    assert OutdatedReview.objects.filter(asset=asset, resolved_at__isnull=True).count() == 1
    told = Notification.objects.get(user=owner, kind="asset_outdated")
    assert "2023 pricing deck" in told.text


def test_an_owner_moved_to_a_rep_role_is_not_told_of_a_restricted_asset():
    moved = make_user(role=REP, teams=[make_team("North America")])
    asset = make_asset("Japan reference customers", owner=moved, teams=[make_team("APAC")])
    for _ in range(2):
        feedback_create(
            user=make_user(role=REP, teams=[make_team("APAC")]), asset=asset, kind="outdated"
        )
    assert OutdatedReview.objects.filter(asset=asset).exists()  # on Needs review for the others
    assert not Notification.objects.filter(user=moved).exists()


def test_helpful_feedback_never_counts(owned):
    asset, _ = owned
    for _ in range(3):
        feedback_create(user=make_user(role=REP), asset=asset, kind="helpful")
    assert not OutdatedReview.objects.exists()


def test_the_threshold_is_a_setting(owned, settings):
    settings.OUTDATED_FEEDBACK_THRESHOLD = 3
    asset, _ = owned
    for _ in range(2):
        feedback_create(user=make_user(role=REP), asset=asset, kind="outdated")
    assert not OutdatedReview.objects.exists()
    feedback_create(user=make_user(role=REP), asset=asset, kind="outdated")
    assert OutdatedReview.objects.exists()


def test_the_asset_shows_in_needs_review_with_the_comments(owned):
    asset, owner = owned
    for text in ("Old <b>prices</b>", "Logo from 2021"):
        feedback_create(user=make_user(role=REP), asset=asset, kind="outdated", text=text)
    html = _client(owner).get("/admin/governance/needs-review/").content.decode()
    assert "2023 pricing deck" in html and "Reps say it is outdated" in html
    review = OutdatedReview.objects.get()
    page = _client(owner).get(f"/admin/analytics/outdated/{review.pk}/").content.decode()
    assert "Old &lt;b&gt;prices&lt;/b&gt;" in page and "Logo from 2021" in page


def test_the_owners_reply_reaches_the_reps_and_closes_the_review(owned):
    asset, owner = owned
    reps = [make_user(role=REP), make_user(role=REP)]
    for rep in reps:
        feedback_create(user=rep, asset=asset, kind="outdated")
    review = OutdatedReview.objects.get()
    response = _client(owner).post(
        f"/admin/analytics/outdated/{review.pk}/", {"reply": "Updated with 2027 prices"}
    )
    assert response.status_code == 302
    replies = Notification.objects.filter(kind="outdated_reply")
    assert sorted(replies.values_list("user", flat=True)) == sorted(rep.pk for rep in reps)
    assert all("Updated with 2027 prices" in n.text and n.url == asset.url for n in replies)
    html = _client(owner).get("/admin/governance/needs-review/").content.decode()
    assert "2023 pricing deck" not in html
    # New reports after the reply start counting afresh.
    feedback_create(user=reps[0], asset=asset, kind="outdated")
    assert OutdatedReview.objects.filter(resolved_at__isnull=True).count() == 0


def test_an_empty_reply_names_the_field_and_changes_nothing(owned):
    asset, owner = owned
    for _ in range(2):
        feedback_create(user=make_user(role=REP), asset=asset, kind="outdated")
    review = OutdatedReview.objects.get()
    with pytest.raises(ValidationError) as error:
        outdated_review_reply(review=review, user=owner, reply="  ")
    assert "reply" in error.value.message_dict
    response = _client(owner).post(f"/admin/analytics/outdated/{review.pk}/", {"reply": ""})
    assert response.status_code == 400
    review.refresh_from_db()
    assert review.resolved_at is None and not Notification.objects.filter(kind="outdated_reply")


def test_reps_cannot_open_or_answer_a_review(owned):
    asset, _ = owned
    rep = make_user(role=REP)
    for user in (rep, make_user(role=REP)):
        feedback_create(user=user, asset=asset, kind="outdated")
    review = OutdatedReview.objects.get()
    response = _client(rep).post(f"/admin/analytics/outdated/{review.pk}/", {"reply": "fake"})
    assert response.status_code in (302, 403)
    review.refresh_from_db()
    assert review.resolved_at is None


def _open_review(asset) -> OutdatedReview:
    for text in ("Old prices", "Logo from 2021"):
        feedback_create(user=make_user(role=REP), asset=asset, kind="outdated", text=text)
    return OutdatedReview.objects.get(asset=asset)


def test_another_marketer_can_neither_read_nor_answer_a_review_of_an_asset_they_do_not_own(
    owned,
):
    """An outside audit: marketer noor opened and closed another owner's review."""
    asset, _ = owned
    review = _open_review(asset)
    noor = _client(make_user("noor", role=MARKETER))

    assert noor.get(f"/admin/analytics/outdated/{review.pk}/").status_code == 404
    response = noor.post(f"/admin/analytics/outdated/{review.pk}/", {"reply": "Fine as is"})

    assert response.status_code == 404
    review.refresh_from_db()
    assert review.resolved_at is None and not Notification.objects.filter(kind="outdated_reply")
    needs_review = noor.get("/admin/governance/needs-review/").content.decode()
    assert "Reps say it is outdated" in needs_review  # the asset is still flagged for all,
    assert f"/admin/analytics/outdated/{review.pk}/" not in needs_review  # not a dead link


def test_an_enablement_lead_reads_and_answers_any_review_as_the_feedback_report_shows_all(owned):
    asset, _ = owned
    review = _open_review(asset)
    lead = _client(make_user("lena", role=ENABLEMENT_LEAD))

    page = lead.get(f"/admin/analytics/outdated/{review.pk}/").content.decode()
    assert "Old prices" in page
    response = lead.post(f"/admin/analytics/outdated/{review.pk}/", {"reply": "Updated"})

    assert response.status_code == 302
    review.refresh_from_db()
    assert review.resolved_at is not None
