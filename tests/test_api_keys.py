"""Analytics API keys: listed and revoked in the admin and with manage.py, last use shown,
expiry enforced; a revoked key is refused on its very next request."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.roles import ADMIN, ENABLEMENT_LEAD
from analytics.models import ApiKey
from analytics.services import api_key_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _events(key):
    return Client().post(
        "/api/v1/events",
        json.dumps({"events": []}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


@pytest.fixture
def key_pair():
    return api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")


def test_a_key_records_its_last_use(key_pair):
    api_key, key = key_pair
    assert api_key.last_used_at is None
    assert _events(key).status_code == 200
    api_key.refresh_from_db()
    assert timezone.now() - api_key.last_used_at < timedelta(seconds=30)


def test_an_expired_key_is_refused(key_pair):
    api_key, key = key_pair
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _events(key).status_code == 401


def test_revoking_in_the_admin_refuses_the_next_request(key_pair):
    api_key, key = key_pair
    assert _events(key).status_code == 200
    admin = Client()
    admin.force_login(make_user(role=ADMIN))
    listing = admin.get("/admin/analytics/api-keys/").content.decode()
    assert "crm" in listing and "active" in listing
    admin.post(f"/admin/analytics/api-keys/{api_key.pk}/revoke/")
    assert _events(key).status_code == 401
    assert "revoked" in admin.get("/admin/analytics/api-keys/").content.decode()


def test_only_admins_see_the_key_screen(key_pair):
    lead = Client()
    lead.force_login(make_user(role=ENABLEMENT_LEAD))
    assert lead.get("/admin/analytics/api-keys/").status_code in (302, 403)
    api_key, key = key_pair
    lead.post(f"/admin/analytics/api-keys/{api_key.pk}/revoke/")
    assert _events(key).status_code == 200


def test_manage_py_lists_and_revokes_keys(key_pair):
    api_key, key = key_pair
    _events(key)
    out = io.StringIO()
    call_command("api_keys", "list", stdout=out)
    row = next(line for line in out.getvalue().splitlines() if line.startswith(f"{api_key.pk}\t"))
    assert "crm" in row and "active" in row and "\t-\tactive" not in row  # last use is shown
    call_command("api_keys", "revoke", str(api_key.pk), stdout=io.StringIO())
    assert _events(key).status_code == 401


def test_create_api_key_with_expiry_and_integration_scope():
    make_user("collector")
    out = io.StringIO()
    call_command(
        "create_api_key", "collector", "events", "--integration", "--expires-days", "7", stdout=out
    )
    api_key = ApiKey.objects.get(name="events")
    assert api_key.scope == ApiKey.Scope.INTEGRATION
    assert timedelta(days=6) < api_key.expires_at - timezone.now() <= timedelta(days=7)
    assert _events(out.getvalue().strip()).status_code == 200
