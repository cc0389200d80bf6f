"""My deals: the rep's open deals, the deal panel (deal mode filled from the deal), the same
panel as JSON and embeddable in a CRM frame, and who may see which deal."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, REP
from analytics.deal_panel import deal_search_params, deal_touches, touch_rows
from analytics.forms import DEALS_PICKED, DealForm
from analytics.models import Deal, EventKind, UsageEvent
from analytics.services import DealInput, deal_upsert
from analytics.usage import usage_record
from cms.models import AssetPage, Competitor, Industry, Persona
from search.services import index_assets
from tests.factories import make_asset, make_section, make_team, make_user
from tests.search.conftest import (  # noqa: F401 - fixtures
    active_engine,
    down_engine,
    embedded_engine,
)

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _deal(external_id, owner, stage="Proposal/Price Quote", **fields):
    deal, _ = deal_upsert(
        data=DealInput(external_id=external_id, stage=stage, owner=owner.username, **fields)
    )
    return deal


@pytest.fixture
def terms():
    return {
        "retail": Industry.objects.get_or_create(name="Retail", slug="retail")[0],
        "acme": Competitor.objects.get_or_create(name="Acme Corp", slug="acme")[0],
    }


@pytest.fixture
def library(active_engine, terms):  # noqa: F811
    emea = make_team("EMEA")
    decide = make_asset("Pricing objections", stages=("decide",), pillars=("why-buy-now",))
    decide.competitors.set([terms["acme"]])
    decide.save_revision().publish()
    early = make_asset("Why modernise", stages=("discover",))
    secret = make_asset(
        "EMEA pricing secrets",
        stages=("decide",),
        parent=make_section("EMEA only", teams=[emea]),
    )
    index_assets(asset_ids=[decide.pk, early.pk, secret.pk])
    return {"decide": decide, "early": early, "secret": secret, "emea": emea}


def test_deal_mode_is_filled_from_the_deal(terms):
    rep = make_user(role=REP)
    deal = _deal(
        "006A",
        rep,
        industry="retail",
        attributes={"Competitor": "Unknown Inc; ACME CORP", "Persona": "Nobody we know"},
    )
    assert deal_search_params(deal) == {
        "deal_stage": "decide",
        "deal_industry": "retail",
        "deal_competitor": "acme",
    }


def test_a_deal_without_known_terms_fills_nothing_it_cannot_name():
    rep = make_user(role=REP)
    deal = _deal("006B", rep, industry="Shipbuilding")
    Deal.objects.filter(pk=deal.pk).update(journey_stage=None)
    deal.refresh_from_db()
    assert deal_search_params(deal) == {}


def test_a_crm_industry_reaches_the_term_that_lists_it_as_a_crm_name(
    active_engine,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """ "Retail" named no term of "Retail and e-commerce" (slug or name only), so deal mode
    silently dropped the deal's industry; a CRM name on the term maps it."""
    retail = Industry.objects.create(name="Retail and e-commerce")
    store = make_asset("Black Friday readiness", stages=("discover",))
    store.industries.set([retail])
    store.save_revision().publish()
    index_assets(asset_ids=[store.pk])
    rep = make_user(role=REP)
    deal = _deal("006R", rep, industry="Retail")

    def panel() -> str:
        html = _client(rep).get("/deals/006R/").content.decode()
        return html[html.index('id="recommendations"') :]

    assert "deal_industry" not in deal_search_params(deal)
    assert "Retail and e-commerce industry" not in panel()

    retail.crm_names = "Retail\nE-commerce"
    retail.full_clean()
    with django_capture_on_commit_callbacks(execute=True):  # the edit's re-index runs
        retail.save()

    assert deal_search_params(deal)["deal_industry"] == "retail-and-e-commerce"
    assert "Retail and e-commerce industry" in panel()


def test_personas_and_competitors_are_matched_by_crm_name_ignoring_case():
    Persona.objects.create(name="Head of Data", crm_names="VP Data\nChief Data Officer")
    Competitor.objects.create(name="Brightwell Data", slug="brightwell", crm_names="BW")
    deal = _deal(
        "006P",
        make_user(role=REP),
        attributes={"Persona": " chief data officer ", "Competitor": "Unknown; bw"},
    )
    params = deal_search_params(deal)
    assert params["deal_persona"] == "head-of-data"
    assert params["deal_competitor"] == "brightwell"


def test_my_deals_lists_only_my_open_deals_most_recent_first():
    rep, other = make_user(role=REP), make_user(role=REP)
    _deal("217", rep, name="Older", amount=Decimal(5000), currency="USD")
    _deal("1213", rep, name="Newer", amount=Decimal(12000), currency="USD")
    _deal("999", other, name="Not mine")
    _deal("555", rep, name="Closed", stage="Closed Won")
    body = _client(rep).get("/deals/").content.decode()
    assert body.index("Newer") < body.index("Older")
    assert "Not mine" not in body and "Closed" not in body
    assert "12,000 USD" in body and "Proposal/Price Quote" in body
    assert 'id="more-deals"' not in body


def test_my_deals_lists_as_many_open_deals_as_the_pickers_and_says_when_there_are_more():
    """My deals and ``/api/v1/deals/mine`` listed 200 deals while the pickers listed 100, and
    the page never said that it had left some out."""
    rep = make_user(role=REP)
    for n in range(DEALS_PICKED + 1):
        _deal(f"006M{n:03d}", rep)
    client = _client(rep)
    body = client.get("/deals/").content.decode()
    assert body.count("<tr data-deal=") == DEALS_PICKED
    assert 'id="more-deals"' in body
    assert len(client.get("/api/v1/deals/mine").json()) == DEALS_PICKED


def test_a_deal_whose_crm_id_holds_a_slash_opens_from_my_deals():
    """Its link used to break the whole My deals page (a server error)."""
    rep = make_user(role=REP)
    _deal("ACME/2026 renewal", rep, name="Acme renewal")
    _deal("mine", rep, name="A deal called mine")
    client = _client(rep)
    body = client.get("/deals/").content.decode()
    assert 'href="/deals/ACME/2026%20renewal/"' in body and 'href="/deals/mine/"' in body
    assert "Acme renewal" in client.get("/deals/ACME/2026%20renewal/").content.decode()
    assert "A deal called mine" in client.get("/deals/mine/").content.decode()
    assert client.get("/api/v1/deals/ACME/2026%20renewal").json()["deal"]["name"] == "Acme renewal"
    lead = _client(make_user(role=ENABLEMENT_LEAD))
    moved = lead.post(
        "/api/v1/deals/ACME/2026%20renewal/stages",
        json.dumps({"stage": "Closed Won"}),
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["outcome"] == "won"


@pytest.mark.parametrize("crm_id", ["/lead", "trail/"])
def test_a_crm_id_with_a_slash_at_either_end_is_refused_and_never_breaks_my_deals(crm_id):
    """No address holds such an id: the webhook took it and My deals was a server error."""
    rep = make_user(role=REP)
    with pytest.raises(ValidationError, match="starts or ends with “/”"):
        _deal(crm_id, rep)
    lead = _client(make_user(role=ENABLEMENT_LEAD))
    body = {"external_id": crm_id, "stage": "Prospecting", "owner": rep.username}
    answer = lead.post("/api/v1/deals", json.dumps(body), content_type="application/json")
    assert answer.status_code == 400 and "external_id" in answer.json()["detail"]
    Deal.objects.create(external_id=crm_id, stage="Prospecting", owner=rep, name="Stored before")
    page = _client(rep).get("/deals/")
    assert page.status_code == 200 and "Stored before" in page.content.decode()


def test_pickers_list_deals_by_recency_with_stage_and_amount():
    rep = make_user(role=REP)
    _deal("217", rep, name="Older", account="Initech", amount=Decimal(5000), currency="USD")
    _deal("1213", rep, name="Newer", amount=Decimal(12000), currency="EUR")
    labels = [label for _, label in DealForm(user=rep).fields["deal"].choices]
    assert labels == [
        "Choose a deal…",  # nothing preselected: the rep picks the deal
        "Newer · Proposal/Price Quote · 12,000 EUR",
        "Older · Initech · Proposal/Price Quote · 5,000 USD",
    ]


def test_the_deal_panel_recommends_for_the_stage_without_typing(library, terms):
    rep = make_user(role=REP)
    _deal("006C", rep, name="Globex", attributes={"competitor": "acme"})
    html = _client(rep).get("/deals/006C/").content.decode()
    recommendations = html[html.index('id="recommendations"') :]
    assert recommendations.index("Pricing objections") < recommendations.index("Why modernise")
    assert "Decide stage" in recommendations and "Against Acme Corp" in recommendations
    assert 'class="use"' in recommendations and 'class="share"' in recommendations


def test_recommendations_obey_team_restrictions(library):
    outsider = make_user(role=REP)
    insider = make_user(role=REP, teams=[library["emea"]])
    _deal("006D", outsider)
    _deal("006E", insider)
    assert "EMEA pricing secrets" not in _client(outsider).get("/deals/006D/").content.decode()
    assert "EMEA pricing secrets" in _client(insider).get("/deals/006E/").content.decode()
    data = json.loads(_client(outsider).get("/api/v1/deals/006D").content)
    assert "EMEA pricing secrets" not in [r["title"] for r in data["recommendations"]]


def test_a_head_on_the_deal_api_records_no_search(library):
    """The panel's recommendations are a search, recorded as one; a HEAD (an uptime check)
    answered as the GET does and filled the dashboard's searches."""
    from search.models import SearchEvent

    rep = make_user(role=REP)
    _deal("006H", rep)
    head = _client(rep).head("/api/v1/deals/006H")
    assert (head.status_code, SearchEvent.objects.count()) == (200, 0)
    assert _client(rep).get("/api/v1/deals/006H").status_code == 200
    assert SearchEvent.objects.get().source == "api"


def test_a_rep_never_sees_another_reps_deal(library):
    owner, other = make_user(role=REP), make_user(role=REP)
    _deal("006F", owner, name="Owner's secret deal")
    assert _client(other).get("/deals/006F/").status_code == 404
    response = _client(other).get("/api/v1/deals/006F")
    assert response.status_code == 404 and "secret" not in response.content.decode()
    assert "Owner's secret deal" not in _client(other).get("/deals/").content.decode()
    mine = json.loads(_client(other).get("/api/v1/deals/mine").content)
    assert mine == []
    assert _client(make_user(role=ENABLEMENT_LEAD)).get("/deals/006F/").status_code == 200


def test_anonymous_visitors_are_sent_to_login():
    response = Client().get("/deals/006X/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Client().get("/api/v1/deals/006X").status_code == 401


def test_the_panel_shows_what_was_already_shared_or_used_in_the_deal(library):
    rep = make_user(role=REP)
    deal = _deal("006G", rep)
    usage_record(kind=EventKind.USED_IN_DEAL, asset=library["decide"], user=rep, deal=deal)
    usage_record(kind=EventKind.VIEWED, asset=library["early"], user=rep, deal=deal)
    html = _client(rep).get("/deals/006G/").content.decode()
    touches = html[html.index('id="touches"') :]
    assert "Pricing objections · Used in deal" in touches and "Why modernise" not in touches
    data = json.loads(_client(rep).get("/api/v1/deals/006G").content)
    assert [t["title"] for t in data["touches"]] == ["Pricing objections"]
    assert data["deal_mode"] == {"deal_stage": "decide"}
    assert data["recommendations"][0]["reasons"]
    for _ in range(3):  # used again and again: one row that says how often (outside audit)
        usage_record(kind=EventKind.USED_IN_DEAL, asset=library["decide"], user=rep, deal=deal)
    html = _client(rep).get("/deals/006G/").content.decode()
    touches = html[html.index('id="touches"') : html.index("</ul>", html.index('id="touches"'))]
    assert touches.count("Pricing objections") == 1
    assert "Pricing objections · Used in deal · 4 times, last " in touches


def test_the_panel_counts_every_touch_of_a_long_deal_in_one_query(
    library, django_assert_max_num_queries
):
    """A deal worked for a year gathers thousands of touches: the row's count is all of them
    (the panel once read the newest 1000 and counted those), grouped by the database."""
    rep = make_user(role=REP)
    deal = _deal("006L", rep)
    first = usage_record(kind=EventKind.USED_IN_DEAL, asset=library["decide"], user=rep, deal=deal)
    copies = [
        UsageEvent(
            kind=first.kind,
            asset=first.asset,
            user=rep,
            deal=deal,
            sender=first.sender,
            idempotency_key=f"copy-{n}",
            occurred_at=first.occurred_at,
        )
        for n in range(1200)
    ]
    UsageEvent.objects.bulk_create(copies)
    touches = deal_touches(user=rep, deal=deal)  # what the rep may see: several queries
    with django_assert_max_num_queries(1):
        rows = touch_rows(touches)
    assert [(row.title, row.kind, row.times) for row in rows] == [
        ("Pricing objections", "Used in deal", 1201)
    ]
    html = _client(rep).get("/deals/006L/").content.decode()
    assert "Pricing objections · Used in deal · 1201 times, last " in html


def test_one_click_use_from_the_panel_comes_back_to_it(library):
    rep = make_user(role=REP)
    deal = _deal("006H", rep)
    response = _client(rep).post(
        f"/analytics/assets/{library['decide'].pk}/used/",
        {"deal": deal.pk, "next": "/deals/006H/"},
    )
    assert response.status_code == 302 and response["Location"] == "/deals/006H/"
    assert UsageEvent.objects.filter(deal=deal, kind=EventKind.USED_IN_DEAL).count() == 1


def test_the_panel_may_be_framed_only_by_the_configured_origins(settings, library):
    rep = make_user(role=REP)
    _deal("006J", rep)
    response = _client(rep).get("/deals/006J/")
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "X-Frame-Options" not in response
    other_page = _client(rep).get("/deals/")
    assert other_page["X-Frame-Options"] == "DENY"


def test_the_panel_survives_search_being_down(down_engine):  # noqa: F811
    from search.engines import use_engine

    rep = make_user(role=REP)
    _deal("006K", rep)
    with use_engine(down_engine):
        response = _client(rep).get("/deals/006K/")
        assert response.status_code == 200
        assert "Recommendations are unavailable" in response.content.decode()
        api = _client(rep).get("/api/v1/deals/006K")
        assert api.status_code == 200 and api.json()["recommendations"] is None


def test_with_search_down_the_panel_and_the_api_still_show_the_deals_touches(
    library,
    settings,
    down_engine,  # noqa: F811
):
    """During a search outage the panel said "Nothing yet." under "Already shared or used in
    this deal" though the deal had touches, and the API answered 503 for the whole deal
    (outside audit): the touches need no search."""
    from search.engines import use_engine

    settings.SEARCH_COOLDOWN_SECONDS = 45
    rep = make_user(role=REP)
    deal = _deal("006O", rep, name="Globex")
    usage_record(kind=EventKind.USED_IN_DEAL, asset=library["decide"], user=rep, deal=deal)
    with use_engine(down_engine):
        html = _client(rep).get("/deals/006O/").content.decode()
        api = _client(rep).get("/api/v1/deals/006O")
    assert 'id="recommendations-unavailable"' in html and 'id="recommendations"' not in html
    touches = html[html.index('id="touches"') : html.index("</ul>", html.index('id="touches"'))]
    assert "Pricing objections · Used in deal" in touches and "Nothing yet." not in touches
    assert (api.status_code, api["Retry-After"]) == (200, "45")
    data = api.json()
    assert data["deal"]["name"] == "Globex" and data["deal_mode"] == {"deal_stage": "decide"}
    assert data["recommendations"] is None
    assert "unavailable" in data["recommendations_unavailable"]
    assert [(t["title"], t["kind"]) for t in data["touches"]] == [
        ("Pricing objections", "used_in_deal")
    ]
    healthy = _client(rep).get("/api/v1/deals/006O")
    assert healthy.json()["recommendations_unavailable"] is None
    assert healthy.json()["recommendations"] and "Retry-After" not in healthy


def test_deals_of_a_closed_deal_offer_no_actions(library):
    rep = make_user(role=REP)
    _deal("006L", rep, stage="Closed Won")
    html = _client(rep).get("/deals/006L/").content.decode()
    assert Deal.objects.get(external_id="006L").outcome == "won"
    assert 'class="use"' not in html


def test_the_panel_offers_to_share_only_what_may_go_to_buyers(library):
    """An internal asset (a battlecard) had "Share with the buyer", which then refused."""
    AssetPage.objects.filter(pk=library["early"].pk).update(buyer_sharing="deny")
    rep = make_user(role=REP)
    _deal("006S", rep, name="Globex")
    html = _client(rep).get("/deals/006S/").content.decode()
    cards = html[html.index('id="recommendations"') :].split('<li class="result"')[1:]
    shared = {card.split("</a>")[0].rsplit(">", 1)[1]: 'class="share"' in card for card in cards}
    assert shared == {"Pricing objections": True, "Why modernise": False}
    assert "Internal: not for buyers" in html
    api = _client(rep).get("/api/v1/deals/006S").json()["recommendations"]
    assert {r["title"]: r["shareable"] for r in api} == shared


def test_deal_pickers_list_the_most_recent_open_deals_and_any_can_still_be_chosen(
    library, settings
):
    """A rep given 35,779 open deals by a bulk import got a 6.2 MB asset page (outside
    audit), and every search result card carried them all."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics import forms

    rep = make_user(role=REP)
    deals = [_deal(f"006P{n:03d}", rep) for n in range(forms.DEALS_PICKED + 5)]
    now = timezone.now()
    for age, deal in enumerate(reversed(deals)):  # the last made is the most recently updated
        Deal.objects.filter(pk=deal.pk).update(updated_at=now - timedelta(hours=age))
    oldest, newest = deals[0], deals[-1]
    client = _client(rep)

    page = client.get(library["decide"].url).content.decode()
    picker = page[
        page.index('id="used-deal"') : page.index("</select>", page.index('id="used-deal"'))
    ]
    assert picker.count("<option") == forms.DEALS_PICKED + 1  # and "Choose a deal…"
    assert f'value="{newest.pk}"' in picker and f'value="{oldest.pk}"' not in picker
    assert 'id="more-deals"' in page
    results = client.get("/search/", {"q": "pricing objections"}).content.decode()
    assert results.count(f'value="{newest.pk}"') == 1
    assert f'value="{oldest.pk}"' not in results

    used = client.post(f"/analytics/assets/{library['decide'].pk}/used/", {"deal": oldest.pk})
    assert used.status_code == 302
    assert UsageEvent.objects.filter(deal=oldest, asset=library["decide"]).exists()


def test_head_on_my_deals_and_a_deal_panel_answers_as_get_and_records_no_search(library):
    """HEAD was a 405 (``require_GET``); the panel's recommendations are recorded as a search
    for a GET, never for a HEAD (nobody saw them)."""
    from search.models import SearchEvent

    rep = make_user(role=REP)
    _deal("006H", rep, name="Globex")
    client = _client(rep)
    for url in ("/deals/", "/deals/006H/"):
        head = client.head(url)
        assert (head.status_code, head.content) == (200, b""), url
        assert head["Content-Type"].startswith("text/html"), url
    assert not SearchEvent.objects.exists()
    client.get("/deals/006H/")
    assert SearchEvent.objects.count() == 1
