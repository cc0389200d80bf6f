"""Governance on publish: the default review date, scheduled expiry and archiving."""

import datetime

import pytest
from django.utils import timezone

from accounts.roles import REP
from cms.models import AssetPage
from cms.selectors import asset_visible_to, assets_for_user
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _review_period(settings):
    settings.REVIEW_PERIOD_DAYS = 30


def test_first_publish_sets_review_by_to_publish_date_plus_review_period():
    asset = make_asset("New deck")
    expected = timezone.localdate(asset.last_published_at) + datetime.timedelta(days=30)
    assert asset.review_by == expected


def test_explicit_review_date_is_kept_on_publish():
    asset = make_asset("Reviewed deck", review_by=datetime.date(2031, 5, 1))
    assert asset.review_by == datetime.date(2031, 5, 1)


def test_draft_gets_no_review_date():
    asset = make_asset("Draft deck", publish=False)
    assert asset.review_by is None


def test_default_review_date_survives_the_next_publish():
    asset = make_asset("New deck")
    first = asset.review_by
    asset.title = "New deck, v2"
    asset.save_revision().publish()
    asset.refresh_from_db()
    assert asset.review_by == first
    assert asset.latest_revision.as_object().review_by == first


def test_expired_asset_is_hidden_from_reps():
    rep = make_user(role=REP)
    asset = make_asset("Promo", expire_at=timezone.now() + datetime.timedelta(days=1))
    assert asset_visible_to(rep, asset)
    AssetPage.objects.filter(pk=asset.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    asset.refresh_from_db()
    assert not asset_visible_to(rep, asset)
    assert asset not in assets_for_user(rep)


def test_scheduled_expiry_unpublishes_the_asset():
    from django.core.management import call_command

    rep = make_user(role=REP)
    asset = make_asset("Promo")
    AssetPage.objects.filter(pk=asset.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    call_command("publish_scheduled")
    asset.refresh_from_db()
    assert asset.expired and not asset.live
    assert not asset_visible_to(rep, asset)


def test_archiving_hides_the_asset_from_reps():
    rep = make_user(role=REP)
    asset = make_asset("Old deck")
    asset.archived = True
    asset.save_revision().publish()
    asset.refresh_from_db()
    assert not asset_visible_to(rep, asset)
    assert asset not in assets_for_user(rep)


def test_lead_can_compare_two_revisions_of_an_asset(client):
    from accounts.roles import ENABLEMENT_LEAD
    from tests.factories import PASSWORD

    asset = make_asset("Deck", summary="First summary")
    first = asset.latest_revision
    asset.summary = "Second summary"
    second = asset.save_revision()
    lead = make_user(role=ENABLEMENT_LEAD)
    assert client.login(username=lead.username, password=PASSWORD)
    url = f"/admin/pages/{asset.id}/revisions/compare/{first.id}...{second.id}/"
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "First" in html and "Second" in html  # the summary diff, word by word
