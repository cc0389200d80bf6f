"""Governance on publish: the default review date, scheduled expiry and archiving."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import MARKETER, REP
from cms.models import AssetPage
from cms.selectors import asset_visible_to, assets_for_user
from tests.cms.test_asset_owner import edit_form, save_draft
from tests.factories import make_asset, make_section, make_user

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


# --- Dates typed with a wrong year ----------------------------------------------------------


@pytest.fixture
def marketer_client(client):
    marketer = make_user("maya", role=MARKETER)
    client.force_login(marketer)
    return client, marketer


def _field_errors(response, name: str) -> list[str]:
    assert response.status_code == 200  # the editor again, saying why
    return [str(error) for error in response.context["form"].errors.get(name, [])]


def test_a_review_by_date_more_than_five_years_ahead_is_refused_under_review_by(marketer_client):
    client, marketer = marketer_client
    asset = make_asset("Pricing deck", owner=marketer)
    today = timezone.localdate()

    refused = save_draft(client, asset, review_by="9999-12-31")

    assert any(
        "31 December 9999 is more than 5 years ahead" in error
        for error in _field_errors(refused, "review_by")
    )
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content["review_by"] != "9999-12-31"
    in_four_years = today + datetime.timedelta(days=4 * 365)
    assert save_draft(client, asset, review_by=in_four_years.isoformat()).status_code == 302


@pytest.mark.parametrize(("field", "what"), [("go_live_at", "go-live"), ("expire_at", "expiry")])
def test_a_go_live_or_expiry_before_2000_is_refused_under_its_field(marketer_client, field, what):
    client, marketer = marketer_client
    asset = make_asset("Pricing deck", owner=marketer)

    refused = save_draft(client, asset, **{field: "0001-01-01 00:00"})

    assert f"A {what} date of 1 January 0001 is before 1 January 2000: check the year." in (
        _field_errors(refused, field)
    )
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content[field] is None


def test_a_section_refuses_a_go_live_before_2000_too(marketer_client):
    client, _ = marketer_client
    section = make_section("Field kit")
    form = edit_form(client, section)
    data = {**form.data, "go_live_at": ["0001-01-01 00:00"]}

    refused = client.post(reverse("wagtailadmin_pages:edit", args=[section.pk]), data)

    assert "before 1 January 2000" in _field_errors(refused, "go_live_at")[0]


def test_a_go_live_next_month_still_saves(marketer_client):
    client, marketer = marketer_client
    asset = make_asset("Pricing deck", owner=marketer)
    later = (timezone.localtime() + datetime.timedelta(days=30)).strftime("%Y-%m-%d %H:%M")

    assert save_draft(client, asset, go_live_at=later).status_code == 302


def test_an_asset_with_nothing_in_it_is_saved_as_a_draft_but_not_submitted_or_published(
    marketer_client,
):
    """An outside audit: an asset with no file, no link and no body text was submitted,
    approved and published; reps found it and read "No file attached yet"."""
    client, marketer = marketer_client
    asset = make_asset("Empty deck", owner=marketer, publish=False)
    url = reverse("wagtailadmin_pages:edit", args=[asset.pk])
    form = edit_form(client, asset)

    submitted = client.post(url, {**form.data, "action-submit": ["1"]})

    (error,) = _field_errors(submitted, "document")
    assert error.startswith("Choose a file, give a link or write the body before submitting")
    assert AssetPage.objects.get(pk=asset.pk).current_workflow_state is None
    assert client.post(url, form.data).status_code == 302  # a draft still saves
    body = {**form.data, "body": [_rich_text("Call the buyer's CFO before the pilot review.")]}
    assert client.post(url, {**body, "action-submit": ["1"]}).status_code == 302
    assert AssetPage.objects.get(pk=asset.pk).current_workflow_state is not None


def _rich_text(text: str) -> str:
    """The editor's rich text field as the browser sends it (Draftail's content state)."""
    import json

    block = {"key": "a1", "type": "unstyled", "depth": 0, "text": text}
    block.update(inlineStyleRanges=[], entityRanges=[], data={})
    return json.dumps({"blocks": [block], "entityMap": {}})


@pytest.mark.parametrize(("field", "what"), [("go_live_at", "go-live"), ("expire_at", "expiry")])
def test_a_go_live_or_expiry_a_century_ahead_is_refused_under_its_field(
    marketer_client, field, what
):
    """9999-12-31 23:59 was accepted (and past the last date Python holds in a zone behind
    UTC)."""
    client, marketer = marketer_client
    asset = make_asset("Pricing deck", owner=marketer)

    refused = save_draft(client, asset, **{field: "9999-12-31 23:59"})

    (error,) = _field_errors(refused, field)
    assert error.startswith(f"A {what} date of 31 December 9999 is more than 100 years ahead")
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content[field] is None
    in_ninety_years = timezone.localdate() + datetime.timedelta(days=90 * 365)
    later = save_draft(client, asset, **{field: f"{in_ninety_years.isoformat()} 09:00"})
    assert later.status_code == 302


def test_a_title_holding_a_direction_override_is_refused_under_its_field(marketer_client):
    """U+202E (right-to-left override) made "Pricing<U+202E>fdp.exe" read "Pricingexe.pdf"
    wherever the title is shown: in search, in a share link's page, in mails."""
    client, marketer = marketer_client
    asset = make_asset("Pricing deck", owner=marketer)

    refused = save_draft(client, asset, title="Pricing\u202efdp.exe")

    (error,) = _field_errors(refused, "title")
    assert error.startswith("Character 8 is an invisible U+202E (RIGHT-TO-LEFT OVERRIDE)")
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content["title"] == "Pricing deck"
    # Right-to-left text needs no control, and the marks it may carry stay allowed.
    arabic = "عرض الأسعار\u200f 2027"
    assert save_draft(client, asset, title=arabic).status_code == 302
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content["title"] == arabic
