"""The taxonomy snippets in the admin: a term in use cannot be deleted (its assets would lose
it, deal history its stage), and the refusal says what uses it."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from accounts.roles import MARKETER
from analytics.models import ContentRequest, Deal
from cms.models import BuyerStage, Competitor
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer():
    client = Client()
    client.force_login(make_user(role=MARKETER))
    return client


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_a_stage_in_use_is_not_deleted_and_the_refusal_names_its_uses(marketer):
    stage = BuyerStage.objects.get(slug="decide")
    make_asset("Pricing deck", stages=["decide"])
    make_asset("ROI calculator", stages=["decide", "discover"])
    owner = make_user()
    deal = Deal.objects.create(
        external_id="D-1", stage="Negotiation", journey_stage=stage, owner=owner
    )
    ContentRequest.objects.create(text="A pricing one-pager", stage=stage)
    url = reverse("wagtailsnippets_cms_buyerstage:delete", args=[stage.pk])

    confirmation = marketer.get(url, follow=True)
    refused = marketer.post(url, follow=True)

    for response in (confirmation, refused):
        message = _messages(response)
        assert "“Decide” cannot be deleted" in message
        assert "2 assets: “Pricing deck”, “ROI calculator”" in message
        assert "1 deal;" in message and "1 content request" in message
    assert BuyerStage.objects.filter(pk=stage.pk).exists()
    assert BuyerStage.objects.get(pk=stage.pk).assets.count() == 2
    deal.refresh_from_db()
    assert deal.journey_stage_id == stage.pk


def test_bulk_delete_refuses_terms_in_use(marketer):
    used, unused = Competitor.objects.create(name="Acme"), Competitor.objects.create(name="Gone")
    asset = make_asset("Acme battlecard")
    asset.competitors.set([used])
    asset.save()
    url = (
        reverse("wagtail_bulk_action", args=("cms", "competitor", "delete"))
        + f"?id={used.pk}&id={unused.pk}"
    )
    response = marketer.post(url, follow=True)
    assert "Acme battlecard" in _messages(response)
    assert Competitor.objects.filter(pk=used.pk).exists()


def test_a_term_only_a_draft_uses_is_in_use_too(marketer):
    competitor = Competitor.objects.create(name="Globex")
    asset = make_asset("Globex battlecard")
    asset.competitors.set([competitor])
    asset.save_revision()  # tagged in a draft only
    url = reverse("wagtailsnippets_cms_competitor:delete", args=[competitor.pk])
    response = marketer.post(url, follow=True)
    assert "Globex battlecard" in _messages(response)
    assert Competitor.objects.filter(pk=competitor.pk).exists()


def test_deleting_a_term_in_use_in_code_is_refused_too():
    make_asset("Deck", stages=["decide"])
    with pytest.raises(ProtectedError, match="Deck"), transaction.atomic():
        BuyerStage.objects.get(slug="decide").delete()


def test_a_term_nothing_uses_is_deleted(marketer):
    competitor = Competitor.objects.create(name="Initech")
    make_asset("Unrelated deck")
    url = reverse("wagtailsnippets_cms_competitor:delete", args=[competitor.pk])
    confirmation = marketer.get(url)
    assert confirmation.status_code == 200
    marketer.post(url)
    assert not Competitor.objects.filter(pk=competitor.pk).exists()
