"""Idempotency keys are per sender: a user (session or personal key: one sender) or an
integration key. The same key from two senders is two events, from one sender one event
(retries, a batch resent, concurrent retries, the spool replayed); nobody learns from the
answer, or takes first, a key another sender sends."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.roles import ADMIN, REP
from analytics.models import ApiKey, UsageEvent
from analytics.services import api_key_create
from analytics.usage import USAGE_SPOOL, usage_spool_replay
from tests.analytics.helpers import spooled_view
from tests.factories import make_asset, make_user


def _send(keys, asset, *, key=None, client=None):
    body = {
        "events": [
            {"idempotency_key": k, "kind": "asset_presented", "asset_id": asset.pk} for k in keys
        ]
    }
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    response = (client or Client()).post(
        "/api/v1/events", json.dumps(body), content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    return answer["stored"], answer["duplicates"]


def _integration_key():
    owner = make_user(role=ADMIN)
    return api_key_create(user=owner, name="crm", scope=ApiKey.Scope.INTEGRATION)[1]


@pytest.mark.django_db
def test_the_same_key_from_two_senders_is_two_events():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    personal = api_key_create(user=rep, name="plugin")[1]
    integration = _integration_key()

    assert _send(["e-1"], asset, key=integration) == (1, 0)
    assert _send(["e-1"], asset, key=personal) == (1, 0)
    assert UsageEvent.objects.filter(idempotency_key="e-1").count() == 2


@pytest.mark.django_db
def test_a_user_is_one_sender_whether_by_session_or_personal_key():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    personal = api_key_create(user=rep, name="plugin")[1]
    session = Client()
    session.force_login(rep)

    assert _send(["e-1"], asset, key=personal) == (1, 0)
    assert _send(["e-1"], asset, client=session) == (0, 1)
    assert UsageEvent.objects.filter(idempotency_key="e-1").count() == 1


@pytest.mark.django_db
def test_a_batch_resent_by_an_integration_is_stored_once():
    asset = make_asset("Deck")
    integration = _integration_key()

    assert _send(["a", "b", "a"], asset, key=integration) == (2, 1)
    assert _send(["a", "b", "c"], asset, key=integration) == (1, 2)
    assert UsageEvent.objects.count() == 3


@pytest.mark.django_db
def test_a_rep_can_neither_probe_for_nor_take_an_integrations_key():
    asset = make_asset("Deck")
    integration = _integration_key()
    rep = make_user(role=REP)
    personal = api_key_create(user=rep, name="plugin")[1]
    _send(["crm-1001"], asset, key=integration)

    # A key the integration sent and one nobody sent get the same answer.
    assert _send(["crm-1001"], asset, key=personal) == _send(["crm-0000"], asset, key=personal)
    # Sending the integration's next key first takes nothing from it.
    _send(["crm-1002"], asset, key=personal)
    assert _send(["crm-1002", "crm-1001"], asset, key=integration) == (1, 1)
    theirs = UsageEvent.objects.filter(sender__startswith="key:")
    assert sorted(theirs.values_list("idempotency_key", flat=True)) == ["crm-1001", "crm-1002"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_from_two_senders_store_each_senders_keys_once():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    senders = {"rep": api_key_create(user=rep, name="plugin")[1], "crm": _integration_key()}
    keys = [f"k-{n}" for n in range(60)]
    errors = []

    def writer(key, offset):
        try:
            client = Client()
            shifted = keys[offset:] + keys[:offset]  # the same keys, in another order
            for start in range(0, len(shifted), 15):
                _send(shifted[start : start + 15], asset, key=key, client=client)
        except Exception as error:  # reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=writer, args=(key, 7 * n))
        for n in range(5)
        for key in senders.values()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = list(UsageEvent.objects.values_list("sender", "idempotency_key"))
    assert len(stored) == len(set(stored)) == 2 * len(keys)


@pytest.mark.django_db
def test_an_app_event_spooled_before_the_upgrade_is_stored_once():
    asset = make_asset("Deck")
    rep = make_user(role=REP)
    # As the previous version spooled it: no sender.
    spooled = spooled_view("f00d", asset.pk, rep)
    USAGE_SPOOL.put("f00d", spooled)
    usage_spool_replay()
    USAGE_SPOOL.put("f00d", spooled)  # replayed again (a crash before the file was removed)
    usage_spool_replay()
    event = UsageEvent.objects.get()
    assert (event.sender, event.idempotency_key, event.user_id) == ("app", "f00d", rep.pk)
