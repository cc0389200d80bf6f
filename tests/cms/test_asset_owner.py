"""Who may own an asset: only people who manage content, as with content requests (an outside
audit: the asset editor's Owner list held every user, reps included, and a draft saved with a
rep as owner)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from cms.models import AssetPage
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


class _EditForm(HTMLParser):
    """What a browser would send from the page editor's form, as the page renders it."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.owner_options: list[str] = []
        self._in_form = False
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "page-edit-form":
            self._in_form = True
        if not self._in_form or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "file", "button"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.data.setdefault(name, []).append(attrs.get("value", ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            if self._select == "owner":
                self.owner_options.append(attrs.get("value", ""))
            if "selected" in attrs:
                self.data.setdefault(self._select, []).append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data


def edit_form(client, asset: AssetPage) -> _EditForm:
    response = client.get(reverse("wagtailadmin_pages:edit", args=[asset.pk]))
    assert response.status_code == 200
    form = _EditForm()
    form.feed(response.content.decode())
    return form


def save_draft(client, asset: AssetPage, **changes):
    form = edit_form(client, asset)
    data = {**form.data, **{name: [str(value)] for name, value in changes.items()}}
    return client.post(reverse("wagtailadmin_pages:edit", args=[asset.pk]), data)


def draft_owner_id(asset: AssetPage) -> int | None:
    """The owner the asset's latest revision was saved with. (Wagtail keeps a live page's
    owner from its row when it shows or publishes a revision, so the row is not enough.)"""
    return AssetPage.objects.get(pk=asset.pk).latest_revision.content["owner"]


@pytest.fixture
def marketer(client):
    user = make_user("maya", role=MARKETER)
    client.force_login(user)
    return user


def test_only_people_who_manage_content_are_offered_as_owner(client, marketer):
    lead = make_user("lena", role=ENABLEMENT_LEAD)
    admin = make_user("ada", is_superuser=True)
    rep = make_user("rico", role=REP)
    gone = make_user("gone", role=MARKETER, is_active=False)
    marketer.groups.add(*lead.groups.all())  # in two groups: still offered once
    asset = make_asset("Pricing deck", owner=marketer)

    options = edit_form(client, asset).owner_options

    assert sorted(options) == sorted(["", str(marketer.pk), str(lead.pk), str(admin.pk)])
    assert str(rep.pk) not in options and str(gone.pk) not in options


def test_a_draft_naming_a_rep_as_owner_is_refused(client, marketer):
    rep = make_user("rico", role=REP)
    asset = make_asset("Pricing deck", owner=marketer)

    response = save_draft(client, asset, owner=rep.pk)

    assert response.status_code == 200  # the editor again, saying why
    assert "Select a valid choice" in response.content.decode()
    assert draft_owner_id(asset) == marketer.pk
    assert AssetPage.objects.get(pk=asset.pk).owner == marketer


def test_an_asset_whose_owner_no_longer_manages_content_still_saves_and_can_be_handed_over(
    client, marketer
):
    moved_to_sales = make_user("sam", role=REP)
    asset = make_asset("Pricing deck", owner=moved_to_sales)

    form = edit_form(client, asset)
    assert form.data["owner"] == [str(moved_to_sales.pk)]  # shown as it is, not blanked
    kept = save_draft(client, asset, summary="New summary")

    assert kept.status_code == 302
    draft = AssetPage.objects.get(pk=asset.pk).get_latest_revision_as_object()
    assert draft.summary == "New summary" and draft_owner_id(asset) == moved_to_sales.pk
    assert save_draft(client, asset, owner=marketer.pk).status_code == 302
    assert draft_owner_id(asset) == marketer.pk


def test_handing_a_live_asset_over_takes_effect_when_the_change_is_published(client, marketer):
    """Wagtail keeps a page's owner from its row when it shows or publishes a revision (for
    Wagtail the owner is who created the page); here the owner is the asset's governance owner,
    so a new owner chosen in the editor was shown as the old one again and never published."""
    successor = make_user("lena", role=ENABLEMENT_LEAD)
    asset = make_asset("Pricing deck", owner=marketer)

    assert save_draft(client, asset, owner=successor.pk).status_code == 302
    assert edit_form(client, asset).data["owner"] == [str(successor.pk)]  # the draft's owner
    assert AssetPage.objects.get(pk=asset.pk).owner == marketer  # live: not yet approved

    AssetPage.objects.get(pk=asset.pk).latest_revision.publish()

    assert AssetPage.objects.get(pk=asset.pk).owner == successor


def test_a_review_by_date_that_has_passed_is_refused_unless_it_was_already_there(client, marketer):
    """A past review-by date was saved without a word, and the asset was overdue at once."""
    today = timezone.localdate()
    asset = make_asset("Pricing deck", owner=marketer, review_by=today + timedelta(days=30))

    refused = save_draft(client, asset, review_by=(today - timedelta(days=5)).isoformat())
    assert refused.status_code == 200 and "has passed" in refused.content.decode()
    assert AssetPage.objects.get(pk=asset.pk).latest_revision.content["review_by"] == str(
        today + timedelta(days=30)
    )
    assert save_draft(client, asset, review_by=today.isoformat()).status_code == 302

    overdue = make_asset("Old deck", owner=marketer, review_by=today - timedelta(days=5))
    assert save_draft(client, overdue, title="Old deck, typo fixed").status_code == 302


def test_owners_are_offered_by_name(client, marketer):
    """The Owner list gave usernames where every other page names people."""
    make_user("priya", role=MARKETER, first_name="Priya", last_name="Nair")
    page = client.get(reverse("wagtailadmin_pages:edit", args=[make_asset("Deck").pk]))
    assert ">Priya Nair (priya)</option>" in page.content.decode()
    assert ">maya</option>" in page.content.decode()  # no name: the username
