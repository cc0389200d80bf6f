"""The taxonomy and team snippets in the admin: a term in use cannot be deleted (its assets
would lose it, deal history its stage), and the refusal says what uses it; a slug left blank
is made from the name before the form checks it, so a clash, or a name that gives no slug, is
a form error; names are unique ignoring case; a CRM stage name maps to one buyer stage."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from accounts.models import Team
from accounts.roles import ENABLEMENT_LEAD, MARKETER
from analytics.models import ContentRequest, Deal
from cms.models import BuyerStage, Competitor, Industry, Persona
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer():
    client = Client()
    client.force_login(make_user(role=MARKETER))
    return client


@pytest.fixture
def lead():
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
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


# --- Names and slugs ---------------------------------------------------------------------------


def _add(client, url_name: str, **data):
    return client.post(reverse(url_name), data)


def test_a_blank_slug_that_another_term_has_is_a_form_error_naming_that_term(marketer):
    Industry.objects.create(name="Healthcare and life sciences")
    response = _add(
        marketer, "wagtailsnippets_cms_industry:add", name="Healthcare and life sciences!", slug=""
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "healthcare-and-life-sciences" in errors["slug"][0]
    assert "“Healthcare and life sciences”" in errors["slug"][0]
    assert Industry.objects.count() == 1


def test_a_team_whose_blank_slug_is_taken_is_a_form_error(lead):
    Team.objects.create(name="North America!")
    response = _add(lead, "wagtailsnippets_accounts_team:add", name="North America", slug="")
    assert "“North America!”" in response.context["form"].errors["slug"][0]
    assert Team.objects.count() == 1


def test_a_blank_slug_is_made_from_the_name(marketer):
    _add(marketer, "wagtailsnippets_cms_industry:add", name="Public sector", slug="")
    assert Industry.objects.get(name="Public sector").slug == "public-sector"


def test_a_name_that_gives_no_slug_asks_for_one(marketer):
    response = _add(marketer, "wagtailsnippets_cms_industry:add", name="🚚", slug="")
    assert "gives no slug" in response.context["form"].errors["slug"][0]
    assert not Industry.objects.filter(name="🚚").exists()
    _add(marketer, "wagtailsnippets_cms_industry:add", name="🚚", slug="logistics")
    assert Industry.objects.get(name="🚚").slug == "logistics"


def test_a_pillar_form_offers_the_slug(marketer):
    response = _add(marketer, "wagtailsnippets_cms_pillar:add", name="🤝", slug="", sort_order=9)
    assert "gives no slug" in response.context["form"].errors["slug"][0]


def test_a_name_differing_only_in_case_is_refused_naming_the_other(marketer):
    Competitor.objects.create(name="Pipewise")
    response = _add(marketer, "wagtailsnippets_cms_competitor:add", name="pipewise", slug="pw")
    assert "“Pipewise” already exists" in response.context["form"].errors["name"][0]
    assert Competitor.objects.count() == 1


def test_a_team_name_differing_only_in_case_is_refused(lead):
    Team.objects.create(name="EMEA")
    response = _add(lead, "wagtailsnippets_accounts_team:add", name="emea", slug="")
    assert "“EMEA” already exists" in response.context["form"].errors["name"][0]


def test_renaming_a_term_keeps_its_slug_and_its_own_name_is_no_clash(marketer):
    term = Competitor.objects.create(name="Acme")
    url = reverse("wagtailsnippets_cms_competitor:edit", args=[term.pk])
    marketer.post(url, {"name": "ACME", "slug": "acme"})
    term.refresh_from_db()
    assert (term.name, term.slug) == ("ACME", "acme")


# --- CRM stage names -----------------------------------------------------------------------------


def _stage_data(stage: BuyerStage, crm_stage_names: str) -> dict:
    return {
        "name": stage.name,
        "slug": stage.slug,
        "sort_order": stage.sort_order,
        "description": stage.description,
        "crm_stage_names": crm_stage_names,
    }


def test_a_crm_stage_name_another_buyer_stage_maps_is_refused_naming_both(marketer):
    decide = BuyerStage.objects.get(slug="decide")  # maps "Negotiation/Review"
    evaluate = BuyerStage.objects.get(slug="evaluate")
    url = reverse("wagtailsnippets_cms_buyerstage:edit", args=[evaluate.pk])
    response = marketer.post(url, _stage_data(evaluate, "Needs Analysis\n  negotiation/review "))
    error = response.context["form"].errors["crm_stage_names"][0]
    assert "“negotiation/review” is already on “Decide”" in error
    evaluate.refresh_from_db()
    assert "negotiation/review" not in evaluate.crm_stage_names
    assert "Negotiation/Review" in decide.crm_stages()


def test_a_new_buyer_stage_with_a_mapped_crm_stage_is_refused(marketer):
    response = _add(
        marketer,
        "wagtailsnippets_cms_buyerstage:add",
        name="Renew",
        slug="",
        sort_order=9,
        description="",
        crm_stage_names="Renewal\nPROSPECTING",
    )
    assert (
        "“PROSPECTING” is already on “Discover”"
        in (response.context["form"].errors["crm_stage_names"][0])
    )
    assert not BuyerStage.objects.filter(name="Renew").exists()


def test_a_buyer_stage_keeps_its_own_crm_stage_names_when_edited(marketer):
    decide = BuyerStage.objects.get(slug="decide")
    url = reverse("wagtailsnippets_cms_buyerstage:edit", args=[decide.pk])
    marketer.post(url, _stage_data(decide, "Proposal/Price Quote\nNegotiation/Review\nContract"))
    decide.refresh_from_db()
    assert decide.crm_stages() == ["Proposal/Price Quote", "Negotiation/Review", "Contract"]


# --- CRM names of industries, personas and competitors ------------------------------------------


def test_the_industry_form_shows_and_saves_crm_names(marketer):
    industry = Industry.objects.create(name="Retail and e-commerce")
    url = reverse("wagtailsnippets_cms_industry:edit", args=[industry.pk])

    form = marketer.get(url).content.decode()
    assert 'name="crm_names"' in form and "CRM names" in form

    marketer.post(url, {"name": industry.name, "slug": industry.slug, "crm_names": "Retail\n "})
    industry.refresh_from_db()
    assert industry.crm_name_list() == ["Retail"]


def test_a_crm_name_another_industry_lists_is_refused_naming_it(marketer):
    Industry.objects.create(name="Retail and e-commerce", crm_names="Retail")
    response = _add(
        marketer,
        "wagtailsnippets_cms_industry:add",
        name="Consumer goods",
        slug="",
        crm_names="CPG\n  RETAIL ",
    )
    error = response.context["form"].errors["crm_names"][0]
    assert "A CRM name maps to one industry: “RETAIL” is already on “Retail and e-commerce”" in (
        error
    )
    assert not Industry.objects.filter(name="Consumer goods").exists()


def test_a_crm_name_that_is_another_terms_name_or_slug_is_refused(marketer):
    Competitor.objects.create(name="Brightwell Data", slug="brightwell")
    Competitor.objects.create(name="Pipewise")
    term = Competitor.objects.create(name="Quarrystone ETL")
    url = reverse("wagtailsnippets_cms_competitor:edit", args=[term.pk])

    response = marketer.post(
        url, {"name": term.name, "slug": term.slug, "crm_names": "pipewise\nBrightwell"}
    )

    error = response.context["form"].errors["crm_names"][0]
    assert "“pipewise” is the name of “Pipewise”" in error
    assert "“Brightwell” is the slug of “Brightwell Data”" in error
    assert error.endswith("Remove it here, or change that competitor.")
    term.refresh_from_db()
    assert term.crm_names == ""


def test_a_persona_named_like_another_personas_crm_name_is_refused(marketer):
    Persona.objects.create(name="Head of Data", crm_names="Chief Data Officer")
    response = _add(marketer, "wagtailsnippets_cms_persona:add", name="chief data officer", slug="")
    assert (
        "is a CRM name of the persona “Head of Data”"
        in (response.context["form"].errors["name"][0])
    )
    assert Persona.objects.count() == 1


def test_only_a_lead_or_admin_decides_which_asset_types_may_go_to_buyers(marketer, lead):
    """A security audit: a marketer set "Battlecard" shareable with one POST, no approval,
    and reps could then send every battlecard to buyers. The field is left out of a
    marketer's form, so a forged POST changes the name but not the sharing."""
    from cms.models import AssetType

    battlecard = AssetType.objects.get(slug="battlecard")
    assert not battlecard.shareable_with_buyers
    url = reverse("wagtailsnippets_cms_assettype:edit", args=[battlecard.pk])
    assert "shareable_with_buyers" not in marketer.get(url).content.decode()
    forged = {"name": "Battlecards", "slug": "battlecard", "shareable_with_buyers": "on"}
    assert marketer.post(url, forged).status_code == 302
    battlecard.refresh_from_db()
    assert (battlecard.name, battlecard.shareable_with_buyers) == ("Battlecards", False)

    assert "shareable_with_buyers" in lead.get(url).content.decode()
    assert lead.post(url, forged).status_code == 302
    battlecard.refresh_from_db()
    assert battlecard.shareable_with_buyers
    new = {"name": "Pricing sheet", "slug": "pricing-sheet", "shareable_with_buyers": ""}
    marketer.post(reverse("wagtailsnippets_cms_assettype:add"), new)
    assert AssetType.objects.get(slug="pricing-sheet").shareable_with_buyers  # the default
