"""The /api/v1 endpoints: events (idempotent, concurrent), CRM deal webhooks, analytics."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import Deal, DealStageChange, UsageEvent
from analytics.services import api_key_create
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_team, make_user


def _post(client, url, body, key=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def _event(key, asset, **extra):
    return {"idempotency_key": key, "kind": "asset_presented", "asset_id": asset.pk, **extra}


@pytest.fixture
def lead_key(db):
    lead = make_user(role=ENABLEMENT_LEAD)
    return api_key_create(user=lead, name="crm")[1]


@pytest.mark.django_db
def test_events_need_authentication():
    response = _post(Client(), "/api/v1/events", {"events": []})
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_wrong_or_revoked_key_is_refused(lead_key):
    from analytics.models import ApiKey

    assert _post(Client(), "/api/v1/events", {"events": []}, "ea_wrong").status_code == 401
    ApiKey.objects.update(revoked_at="2024-01-01T00:00:00Z")
    assert _post(Client(), "/api/v1/events", {"events": []}, lead_key).status_code == 401


@pytest.mark.django_db
def test_same_idempotency_key_twice_is_stored_once():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    key = api_key_create(user=rep, name="plugin")[1]
    walk_deal("006A", ["discover", "evaluate"], owner=rep.username)
    body = {"events": [_event("e-1", asset, deal_id="006A")] * 2}
    first = _post(Client(), "/api/v1/events", body, key).json()
    second = _post(Client(), "/api/v1/events", body, key).json()
    assert (first["stored"], first["duplicates"]) == (1, 1)
    assert (second["stored"], second["duplicates"]) == (0, 2)
    event = UsageEvent.objects.get()
    assert event.user == rep and event.deal.external_id == "006A"
    assert event.journey_stage.slug == "evaluate"  # the deal's stage when it was stored


@pytest.mark.django_db
def test_a_batch_with_bad_events_is_refused_whole_and_each_refusal_is_reported():
    asset = make_asset("Deck")
    client = Client()
    client.force_login(make_user(role=REP))
    body = {
        "events": [
            _event("ok", asset),
            {**_event("bad-kind", asset), "kind": "liked"},
            _event("bad-asset", asset, asset_id=999999),
            _event("bad-deal", asset, deal_id="nope"),
        ]
    }
    response = _post(client, "/api/v1/events", body)
    assert response.status_code == 400
    result = response.json()
    assert result["stored"] == 0 and not UsageEvent.objects.exists()
    assert [(e["index"], e["field"]) for e in result["errors"]] == [
        (1, "kind"),
        (2, "asset_id"),
        (3, "deal_id"),
    ]


def _refused(body, role=REP) -> list[tuple[int, str, str]]:
    client = Client()
    client.force_login(make_user(role=role))
    response = _post(client, "/api/v1/events", body)
    assert response.status_code == 400 and response.json()["stored"] == 0
    assert not UsageEvent.objects.exists()
    return [(e["index"], e["field"], e["error"]) for e in response.json()["errors"]]


@pytest.mark.django_db
def test_an_event_in_the_future_or_before_2000_is_refused_naming_occurred_at():
    asset = make_asset("Deck")
    now = timezone.now()
    errors = _refused(
        {
            "events": [
                _event("skewed", asset, occurred_at=(now + timedelta(minutes=4)).isoformat()),
                _event("future", asset, occurred_at="2030-06-01"),
                _event("far", asset, occurred_at="9999-12-31T23:59:59Z"),
                _event("ancient", asset, occurred_at="0001-01-01"),
                _event("late", asset, occurred_at=(now + timedelta(minutes=6)).isoformat()),
                _event("old", asset, occurred_at="1999-12-31T23:59:59Z"),
                _event("y2k", asset, occurred_at="2000-01-01T00:00:00Z"),
            ]
        },
        role=ENABLEMENT_LEAD,  # a rep's own events go back 24 hours at most (test below)
    )
    assert [(index, field) for index, field, _ in errors] == [
        (1, "occurred_at"),
        (2, "occurred_at"),
        (3, "occurred_at"),
        (4, "occurred_at"),
        (5, "occurred_at"),
    ]
    assert "2030-06-01T00:00:00+00:00 is in the future" in errors[0][2]
    assert errors[2][2] == "0001-01-01T00:00:00+00:00 is before 2000-01-01"


@pytest.mark.django_db
def test_an_event_that_does_not_fit_the_schema_is_refused_with_400_naming_index_and_field():
    """An over-long key, a text asset id or a batch that is not a list answered 422 in
    ninja's own shape, unlike every other refusal of the API (400, index and field)."""
    asset = make_asset("Deck")
    client = Client()
    client.force_login(make_user(role=REP))
    body = {"events": [_event("ok", asset), _event("k" * 101, asset), _event("x", asset)]}
    body["events"][2]["asset_id"] = "abc"
    response = _post(client, "/api/v1/events", body)
    assert response.status_code == 400
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(1, "idempotency_key"), (2, "asset_id")]
    assert response.json()["detail"].startswith("events[1].idempotency_key: String should")
    assert not UsageEvent.objects.exists()
    not_a_list = _post(client, "/api/v1/events", {"events": "nope"})
    assert not_a_list.status_code == 400
    assert not_a_list.json()["errors"][0]["field"] == "events"
    # a number no database integer holds is refused by the schema (it was a 500: overflow)
    for huge in (10**18, 99999999999999999999999, 0):
        body = {"events": [{**_event("big", asset), "asset_id": huge}]}
        response = _post(client, "/api/v1/events", body)
        assert response.status_code == 400
        assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "asset_id")]
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_naming_the_kinds_there_are():
    asset = make_asset("Deck")
    errors = _refused({"events": [_event("ok", asset), _event("typo", asset, kind="viewed")]})
    assert errors == [
        (
            1,
            "kind",
            "unknown kind 'viewed'; the kinds are asset_viewed, asset_downloaded, asset_shared, "
            "buyer_opened, used_in_deal, asset_presented",
        )
    ]


@pytest.mark.django_db
def test_an_asset_id_that_is_not_a_json_integer_is_refused_not_coerced():
    """``true`` was read as asset 1, and "12" or 12.0 as asset 12."""
    asset = make_asset("Deck")
    client = Client()
    client.force_login(make_user(role=REP))
    for value in (True, str(asset.pk), float(asset.pk)):
        body = {"events": [_event("ok", asset), {**_event("coerced", asset), "asset_id": value}]}
        response = _post(client, "/api/v1/events", body)
        assert response.status_code == 400, value
        errors = response.json()["errors"]
        assert [(e["index"], e["field"]) for e in errors] == [(1, "asset_id")]
        assert errors[0]["error"] == "Input should be a valid integer"
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_field_the_api_does_not_know_is_refused_naming_it():
    """A typo ("deal" for "deal_id") was dropped: the touch was stored on no deal."""
    asset = make_asset("Deck")
    client = Client()
    client.force_login(make_user(role=REP))
    body = {"events": [_event("ok", asset), _event("typo", asset, deal="006A")]}
    response = _post(client, "/api/v1/events", body)
    assert response.status_code == 400
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(1, "deal")]
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_an_idempotency_key_of_only_spaces_is_refused():
    asset = make_asset("Deck")
    errors = _refused({"events": [_event("ok", asset), _event(" \t ", asset)]})
    assert errors == [(1, "idempotency_key", "1 to 100 characters, not only spaces")]


@pytest.mark.django_db
def test_one_key_on_two_different_events_of_a_batch_is_refused_naming_both():
    """The second was counted as a duplicate of the first and lost without a word."""
    asset, other = make_asset("Deck"), make_asset("Case study")
    body = {
        "events": [
            _event("k1", asset),
            _event("k2", asset),
            _event("k1", other),
            _event("k2", asset, kind="asset_viewed"),
            _event("k1", asset, metadata={"slide": 3}),
        ]
    }
    assert _refused(body) == [
        (2, "idempotency_key", "also the key of event 0, with other content: one key, one event"),
        (3, "idempotency_key", "also the key of event 1, with other content: one key, one event"),
        (4, "idempotency_key", "also the key of event 0, with other content: one key, one event"),
    ]
    client = Client()
    client.force_login(make_user(role=REP))
    same = {"events": [_event("k1", asset, metadata={"slide": 3})] * 2}  # a retry in a batch
    response = _post(client, "/api/v1/events", same)
    assert response.status_code == 200
    assert (response.json()["stored"], response.json()["duplicates"]) == (1, 1)


@pytest.mark.django_db
def test_a_bad_key_is_refused_even_beside_a_session_and_without_a_csrf_token():
    """A request presenting a key is judged by it: 401, not the session's CSRF check (a 403
    that hid the real problem) nor the session's user."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    for api in (Client(enforce_csrf_checks=True), client):
        response = _post(api, "/api/v1/events", {"events": []}, key="ea_not_a_key")
        assert response.status_code == 401
        assert response.json()["detail"] == "The API key is unknown, revoked or expired."


def test_an_amount_too_large_for_a_deal_is_a_400_naming_it(lead_key):
    body = {"external_id": "D1", "stage": "Prospecting", "amount": 10**30}
    response = _post(Client(), "/api/v1/deals", body, key=lead_key)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("amount: amount '1000000000000000000000000000000'")
    assert not Deal.objects.exists()


def test_a_deal_that_does_not_fit_the_schema_is_refused_with_400_naming_the_field(lead_key):
    response = _post(Client(), "/api/v1/deals", {"name": "No id", "stage": "x"}, key=lead_key)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["external_id"]
    assert response.json()["detail"] == "external_id: Field required"
    assert not Deal.objects.exists()


@pytest.mark.django_db
def test_metadata_over_4_kb_as_json_is_refused_naming_it():
    asset = make_asset("Deck")
    at_limit = {"note": "x" * (4096 - len('{"note":""}'))}
    over = {"note": "x" * (4097 - len('{"note":""}'))}
    errors = _refused(
        {
            "events": [
                _event("fits", asset, metadata=at_limit),
                _event("big", asset, metadata=over),
                _event("huge", asset, metadata={"note": "x" * 1_000_000}),
            ]
        }
    )
    assert errors == [
        (1, "metadata", "4097 bytes as JSON; at most 4096"),
        (2, "metadata", "1000011 bytes as JSON; at most 4096"),
    ]
    lead = make_user(role=ENABLEMENT_LEAD)
    client = Client()
    client.force_login(lead)
    response = _post(
        client, "/api/v1/events", {"events": [_event("fits", asset, metadata=at_limit)]}
    )
    assert response.status_code == 200 and UsageEvent.objects.get().metadata == at_limit


@pytest.fixture
def restricted():
    team = make_team("Board")
    secret = make_asset("Board deck", teams=[team])
    missing_id = secret.pk + 1000
    return secret, missing_id


@pytest.mark.django_db
def test_an_invisible_asset_gets_the_same_answer_as_a_missing_one(restricted):
    secret, missing_id = restricted
    rep = make_user(role=REP)
    key = api_key_create(user=rep, name="plugin")[1]
    answers = []
    for asset_id in (secret.pk, missing_id):
        response = _post(
            Client(), "/api/v1/events", {"events": [_event("k", secret, asset_id=asset_id)]}, key
        )
        assert response.status_code == 400
        error = response.json()["errors"][0]
        answers.append(error["error"].replace(str(asset_id), "N"))
    assert answers[0] == answers[1] == "no asset N"
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_a_rep_may_not_record_events_on_another_reps_deal_and_nothing_is_half_stored():
    asset = make_asset("Deck")
    rep, other = make_user(role=REP), make_user(role=REP)
    walk_deal("006MINE", ["discover"], owner=rep.username)
    walk_deal("006THEIRS", ["discover"], owner=other.username)
    key = api_key_create(user=rep, name="plugin")[1]
    body = {
        "events": [
            _event("mine", asset, deal_id="006MINE"),
            _event("theirs", asset, deal_id="006THEIRS"),
        ]
    }
    response = _post(Client(), "/api/v1/events", body, key)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "deal_id", "error": "no deal '006THEIRS'"}
    ]
    missing = _post(
        Client(), "/api/v1/events", {"events": [_event("x", asset, deal_id="006NONE")]}, key
    )
    assert missing.json()["errors"][0]["error"] == "no deal '006NONE'"
    assert not UsageEvent.objects.exists()
    ok = _post(Client(), "/api/v1/events", {"events": body["events"][:1]}, key)
    assert ok.status_code == 200 and ok.json()["stored"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["lead", "integration key"])
def test_leads_and_integration_keys_may_record_events_on_any_deal(caller):
    from analytics.models import ApiKey

    asset = make_asset("Deck")
    rep = make_user(role=REP)
    walk_deal("006R", ["discover"], owner=rep.username)
    if caller == "lead":
        key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    else:
        user = make_user(role=REP)
        key = api_key_create(user=user, name="collector", scope=ApiKey.Scope.INTEGRATION)[1]
    response = _post(
        Client(), "/api/v1/events", {"events": [_event("e", asset, deal_id="006R")]}, key
    )
    assert response.status_code == 200 and response.json()["stored"] == 1


@pytest.mark.django_db
def test_other_writes_naming_an_invisible_asset_are_refused_like_missing_ones(restricted):
    secret, missing_id = restricted
    rep = make_user(role=REP)
    deal = walk_deal("006W", ["discover"], owner=rep.username)
    client = Client()
    client.force_login(rep)
    for asset_id in (secret.pk, missing_id):
        for action, data in (
            ("used", {"deal": deal.pk}),
            ("share", {"deal": deal.pk}),
            ("feedback", {"kind": "helpful"}),
        ):
            response = client.post(f"/analytics/assets/{asset_id}/{action}/", data)
            assert response.status_code == 404, (action, asset_id)
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_lose_and_double_nothing():
    asset = make_asset("Deck")
    key = api_key_create(user=make_user(role=REP), name="load")[1]
    keys = [uuid.uuid4().hex for _ in range(400)]
    errors = []

    def writer(number):
        try:
            client = Client()
            # Every writer sends its own 40 keys plus 20 keys another writer also sends.
            mine = keys[number * 20 : number * 20 + 40] if number < 19 else keys[380:] + keys[:20]
            for start in range(0, len(mine), 10):
                batch = [_event(k, asset) for k in mine[start : start + 10]]
                response = _post(client, "/api/v1/events", {"events": batch}, key)
                if response.status_code != 200:
                    errors.append(response.content)
        except Exception as error:  # reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = list(UsageEvent.objects.values_list("idempotency_key", flat=True))
    assert len(stored) == len(set(stored)) == 400
    assert set(stored) == set(keys)


@pytest.mark.django_db
def test_crm_webhook_creates_then_updates_a_deal_and_appends_history(lead_key):
    client = Client()
    body = {"external_id": "006X", "stage": "Prospecting", "name": "Acme", "amount": "$1,200.50"}
    created = _post(client, "/api/v1/deals", body, lead_key)
    assert created.status_code == 201
    assert created.json()["journey_stage"] == "Discover"
    moved = _post(client, "/api/v1/deals", {**body, "stage": "Closed Won"}, lead_key)
    assert moved.status_code == 200 and moved.json()["outcome"] == "won"
    deal = Deal.objects.get(external_id="006X")
    assert str(deal.amount) == "1200.50"
    assert list(deal.history.values_list("stage", flat=True)) == ["Prospecting", "Closed Won"]


@pytest.mark.django_db
def test_crm_webhook_refuses_an_unmapped_stage_by_name(lead_key):
    response = _post(Client(), "/api/v1/deals", {"external_id": "1", "stage": "Pilot"}, lead_key)
    assert response.status_code == 400
    assert "Pilot" in response.json()["detail"]
    assert not Deal.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"region": "EMEA"}, "region: Extra inputs are not permitted"),
        ({"won": "yes"}, "won: Input should be a valid boolean"),
        ({"closed": 1}, "closed: Input should be a valid boolean"),
        (
            {"won": True},
            "won: true, but nothing closes the deal (stage 'Prospecting'): "
            "send closed: true with it",
        ),
        ({"stage": "Closed Lost", "won": True}, "won: true contradicts the stage 'Closed Lost'"),
        (
            {"stage": "Closed Won", "closed": False},
            "closed: false contradicts the stage 'Closed Won'",
        ),
    ],
)
def test_crm_webhook_refuses_a_field_it_would_ignore_naming_it(lead_key, extra, detail):
    """An unknown field, a flag that is no JSON boolean, and a Won flag that the stage (or a
    missing Closed flag) overrides were all answered 200 and dropped without a word."""
    body = {"external_id": "006W", "stage": "Prospecting", **extra}
    response = _post(Client(), "/api/v1/deals", body, lead_key)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert not Deal.objects.exists()


@pytest.mark.django_db
def test_crm_webhook_reads_the_won_and_closed_flags_that_agree(lead_key):
    cases = [
        ({"stage": "Prospecting", "won": True, "closed": True}, "won"),
        ({"stage": "Prospecting", "won": False, "closed": True}, "lost"),
        ({"stage": "Prospecting", "won": False, "closed": False}, "open"),
        ({"stage": "Closed Won", "won": True, "closed": True}, "won"),
        ({"stage": "Closed Lost", "won": False}, "lost"),
    ]
    for number, (flags, outcome) in enumerate(cases):
        body = {"external_id": f"006F{number}", **flags}
        response = _post(Client(), "/api/v1/deals", body, lead_key)
        assert response.status_code == 201, flags
        assert response.json()["outcome"] == outcome


@pytest.mark.django_db
def test_crm_webhook_keeps_an_owner_who_is_no_user_and_warns_that_no_rep_has_the_deal(lead_key):
    """The owner "ghost" was stored without a word: the deal in no rep's deals."""
    rep = make_user(role=REP)
    body = {"external_id": "006O", "stage": "Prospecting", "owner": " ghost "}
    response = _post(Client(), "/api/v1/deals", body, lead_key)
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "field": "owner",
            "warning": "'ghost' is no active user (by username, e-mail or full name): "
            "the deal keeps it as its owner's name but is no rep's deal",
        }
    ]
    deal = Deal.objects.get()
    assert (deal.owner_name, deal.owner) == ("ghost", None)
    mine = _post(Client(), "/api/v1/deals", {**body, "owner": rep.username}, lead_key)
    assert mine.status_code == 200 and mine.json()["warnings"] == []
    assert Deal.objects.get().owner == rep


@pytest.mark.django_db
def test_stage_change_endpoint_moves_the_deal(lead_key):
    walk_deal("006S", ["discover"])
    response = _post(
        Client(),
        "/api/v1/deals/006S/stages",
        {"stage": "Negotiation/Review", "entered_at": "2024-06-01T00:00:00Z"},
        lead_key,
    )
    assert response.status_code == 200
    assert response.json()["journey_stage"] == "Decide"
    assert Deal.objects.get().reached_stage_order == 2


@pytest.mark.django_db
def test_a_stage_entered_in_the_future_is_refused_and_the_deal_can_still_close(lead_key):
    """An outside audit: an entry dated 2030 was stored as the deal's latest, and every real
    change sent afterwards (a close today) answered 200 without moving the deal."""
    walk_deal("006F", ["discover"])
    future = {"stage": "Negotiation/Review", "entered_at": "2030-01-01T00:00:00Z"}
    response = _post(Client(), "/api/v1/deals/006F/stages", future, lead_key)
    assert response.status_code == 400
    assert "entered_at" in response.json()["detail"] and "future" in response.json()["detail"]
    closed = _post(Client(), "/api/v1/deals/006F/stages", {"stage": "Closed Won"}, lead_key)
    assert closed.status_code == 200 and closed.json()["outcome"] == "won"


@pytest.mark.django_db
def test_a_stage_change_or_an_events_batch_refuses_a_field_it_would_ignore(lead_key):
    """An outside audit: ``changed_at`` (for ``entered_at``) dated the stage now, ``won``
    closed nothing, and a batch's stray key was dropped, each answered 200."""
    walk_deal("006X", ["discover"])
    before = list(DealStageChange.objects.values_list("pk", flat=True))
    extra = "Extra inputs are not permitted"
    for fields, detail in [
        ({"changed_at": "2024-06-01T00:00:00Z"}, f"changed_at: {extra}"),
        ({"won": True, "closed": True}, f"won: {extra}; closed: {extra}"),
    ]:
        body = {"stage": "Negotiation/Review", **fields}
        response = _post(Client(), "/api/v1/deals/006X/stages", body, lead_key)
        assert response.status_code == 400, fields
        assert response.json()["detail"] == detail
    assert list(DealStageChange.objects.values_list("pk", flat=True)) == before
    assert Deal.objects.get().outcome == "open"
    batch = _post(Client(), "/api/v1/events", {"events": [], "dry": True}, lead_key)
    assert batch.status_code == 400
    assert batch.json()["detail"] == "dry: Extra inputs are not permitted"


@pytest.mark.django_db
def test_stage_change_for_an_unknown_deal_is_404(lead_key):
    response = _post(Client(), "/api/v1/deals/none/stages", {"stage": "Prospecting"}, lead_key)
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", [REP, MARKETER])
def test_reps_and_marketers_get_403_from_deals_and_analytics(role):
    client = Client()
    client.force_login(make_user(role=role))
    assert client.get("/api/v1/analytics/assets").status_code == 403
    body = {"external_id": "1", "stage": "Prospecting"}
    assert _post(client, "/api/v1/deals", body).status_code == 403


@pytest.mark.django_db
def test_analytics_assets_returns_the_documented_field_names():
    from analytics.selectors import ASSET_FIELDS
    from tests.analytics.helpers import refresh

    asset = make_asset("Battlecard")
    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    body = client.get("/api/v1/analytics/assets?window=all").json()
    row = next(r for r in body["assets"] if r["asset_id"] == asset.pk)
    assert set(ASSET_FIELDS) <= set(row)
    assert row["title"] == "Battlecard" and row["deals_used"] == 0
    assert client.get("/api/v1/analytics/assets?window=7y").status_code == 400


@pytest.mark.django_db
def test_analytics_assets_refuses_a_segment_or_industry_no_deal_has_naming_those_there_are():
    """An unknown segment was answered 200, as a view of no deals that looked like numbers."""
    from tests.analytics.helpers import refresh

    make_asset("Battlecard")
    walk_deal("006E", ["discover", "won"], segment="Enterprise", industry="Retail")
    walk_deal("006M", ["discover", "lost"], segment="Mid-Market", industry="Retail")
    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    url = "/api/v1/analytics/assets?window=all"
    for params in ("", "&segment=enterprise", "&segment=Enterprise&industry=RETAIL", "&segment="):
        assert client.get(url + params).status_code == 200, params
    refused = {
        "&segment=Entreprise": (
            "segment: 'Entreprise' is no deal's segment; "
            "one of Enterprise, Mid-Market, or empty for all"
        ),
        "&segment=Enterprise&industry=Banking": (
            "industry: 'Banking' is no deal's industry; one of Retail, or empty for all"
        ),
    }
    for params, detail in refused.items():
        response = client.get(url + params)
        assert response.status_code == 400
        assert response.json() == {"detail": detail}


@pytest.mark.django_db
def test_a_segment_view_drops_an_asset_unpublished_without_waiting_for_new_data():
    """A segment view is kept until what it is made from changes; an unpublished asset
    stayed listed there, the view saying it was up to date, until new deal data came in
    (outside audit)."""
    from tests.analytics.helpers import refresh

    kept, dropped = make_asset("Battlecard"), make_asset("Old deck")
    walk_deal("006E", ["discover", "won"], segment="Enterprise")
    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))

    def listed(params: str) -> set[int]:
        body = client.get("/api/v1/analytics/assets?window=all" + params).json()
        return {row["asset_id"] for row in body["assets"]}

    assert {kept.pk, dropped.pk} <= listed("&segment=Enterprise")
    dropped.unpublish()
    refresh()  # the scheduler's next refresh, with no new deal data
    assert kept.pk in listed("&segment=Enterprise")
    assert dropped.pk not in listed("&segment=Enterprise")


@pytest.mark.django_db
def test_a_reps_events_claim_only_what_the_apps_own_forms_would_record():
    """The touches the effectiveness numbers count: a rep could otherwise send a backdated
    "buyer opened" of a battlecard on a won deal and make it look effective (outside audit)."""
    rep = make_user(role=REP)
    key = api_key_create(user=rep, name="plugin")[1]
    internal = make_asset("Battlecard", buyer_sharing="deny")
    public = make_asset("Case study", buyer_sharing="allow")
    walk_deal("006OPEN", ["discover"], owner=rep.username)
    walk_deal("006WON", ["discover", "won"], owner=rep.username)
    long_ago = (timezone.now() - timedelta(hours=25)).isoformat()
    refused = [
        (
            _event("a", public, kind="buyer_opened", deal_id="006OPEN"),
            "kind",
            "buyer_opened is recorded when a buyer opens a share link, never sent",
        ),
        (
            _event("b", internal, kind="asset_shared", deal_id="006OPEN"),
            "asset_id",
            f"asset {internal.pk} is internal: it is never shared with buyers",
        ),
        (
            _event("c", public, deal_id="006WON"),
            "deal_id",
            "deal '006WON' is closed: name one of your open deals",
        ),
        (
            _event("d", public, deal_id="006OPEN", occurred_at=long_ago),
            "occurred_at",
            "more than 24 hours ago: a user's events are sent as they happen",
        ),
    ]
    for event, field, error in refused:
        response = _post(Client(), "/api/v1/events", {"events": [event]}, key)
        assert response.status_code == 400
        assert response.json()["errors"] == [{"index": 0, "field": field, "error": error}]
    assert not UsageEvent.objects.exists()
    recent = (timezone.now() - timedelta(hours=2)).isoformat()
    allowed = [
        _event("e", public, kind="asset_shared", deal_id="006OPEN", occurred_at=recent),
        _event("f", internal, kind="used_in_deal", deal_id="006OPEN"),
        _event("g", internal),  # presented, no deal
    ]
    response = _post(Client(), "/api/v1/events", {"events": allowed}, key)
    assert response.status_code == 200 and response.json()["stored"] == 3
    # A lead's backfill and an integration key may still record the past as it was.
    lead_key = api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]
    backfill = [event for event, _, _ in refused]
    response = _post(Client(), "/api/v1/events", {"events": backfill}, lead_key)
    assert response.status_code == 200 and response.json()["stored"] == 4


@pytest.mark.django_db
def test_analytics_assets_takes_parameters_in_any_case_and_echoes_them_as_the_data_spells_them():
    """``window=ALL`` was refused, though the README says any case; a segment was echoed as
    typed ("enterprise"), not as the deals spell it."""
    from tests.analytics.helpers import refresh

    make_asset("Battlecard")
    walk_deal("006E", ["discover", "won"], segment="Enterprise", industry="Retail")
    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    body = client.get("/api/v1/analytics/assets?window=ALL&segment=enterprise&industry=RETAIL")
    assert body.status_code == 200, body.content
    echoed = {name: body.json()[name] for name in ("window", "segment", "industry")}
    assert echoed == {"window": "all", "segment": "Enterprise", "industry": "Retail"}
    assert client.get("/api/v1/analytics/assets?window=90D").json()["window"] == "90d"
    refused = client.get("/api/v1/analytics/assets?window=7y")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "window: '7y' is no window; one of 90d, 365d, all"}


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["stage=decide", "sort=effect", "limit=10", "Window=all"])
def test_analytics_assets_refuses_a_parameter_it_does_not_take_naming_the_ones_it_takes(parameter):
    """``stage``, ``sort`` and ``limit`` were ignored without a word: every asset of every
    stage came back as if filtered, sorted or cut."""
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    response = client.get(f"/api/v1/analytics/assets?window=all&{parameter}")
    assert response.status_code == 400
    name = parameter.split("=")[0]
    error = "not a parameter of GET /api/v1/analytics/assets; it takes window, segment, industry"
    assert response.json() == {
        "detail": f"{name}: {error}",
        "errors": [{"field": name, "error": error}],
    }


@pytest.mark.django_db
def test_the_other_analytics_endpoints_refuse_query_parameters_and_store_nothing(lead_key):
    """A ``dry_run=1`` sent to a write was ignored and the write made."""
    asset = make_asset("Battlecard")
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    mine = client.get("/api/v1/deals/mine?limit=5")
    assert mine.status_code == 400
    assert mine.json()["detail"] == (
        "limit: not a parameter of GET /api/v1/deals/mine; it takes none"
    )
    events = _post(client, "/api/v1/events?dry_run=1", {"events": [_event("k1", asset)]})
    assert events.status_code == 400 and events.json()["errors"][0]["field"] == "dry_run"
    deal = _post(
        Client(), "/api/v1/deals?dry_run=1", {"external_id": "1", "stage": "Prospecting"}, lead_key
    )
    assert deal.status_code == 400
    assert not UsageEvent.objects.exists() and not Deal.objects.exists()
