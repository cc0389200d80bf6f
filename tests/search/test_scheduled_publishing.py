"""A marketer's "go live at" and "expire at" happen on their own: the scheduler's tick runs
Wagtail's publish_scheduled (analytics_scheduler), and search follows through the usual
signals."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Revision

from accounts.roles import REP
from cms.models import AssetPage
from tests.factories import make_asset, make_user
from tests.search.conftest import run_search, titles

pytestmark = pytest.mark.django_db


def test_pages_go_live_and_expire_on_the_schedulers_tick(
    active_engine, django_capture_on_commit_callbacks
):
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        asset = make_asset("Quarterly launch kit", publish=False)
        asset.go_live_at = timezone.now() + timedelta(seconds=2)
        asset.save_revision().publish()  # scheduled, not live
        ending = make_asset("Last year's price list")
        ending.expire_at = asset.go_live_at
        ending.save_revision().publish()
    assert not AssetPage.objects.get(pk=asset.pk).live
    assert titles(run_search(rep, "launch kit")) == []

    assert Revision.objects.filter(object_id=str(asset.pk), approved_go_live_at__isnull=False)
    call_command("analytics_scheduler", "--once", stdout=io.StringIO())
    assert not AssetPage.objects.get(pk=asset.pk).live  # not yet
    time.sleep(max(0.0, (asset.go_live_at - timezone.now()).total_seconds()) + 0.1)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("analytics_scheduler", "--once", stdout=io.StringIO())
    assert AssetPage.objects.get(pk=asset.pk).live
    assert titles(run_search(rep, "launch kit")) == ["Quarterly launch kit"]
    ending.refresh_from_db()
    assert (ending.live, ending.expired) == (False, True)
