"""The analytics scheduler's periodic jobs: which are registered, how often each runs, and
that one failing leaves the others running."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import MARKETER
from analytics.management.commands import analytics_scheduler
from analytics.management.commands.analytics_scheduler import (
    PERIODIC_JOBS,
    REMINDERS_EVERY_SECONDS,
    owner_reminders,
    periodic_jobs_run,
)
from notifications.models import Notification
from tests.factories import make_asset, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures


def test_owner_reminders_are_registered_to_run_at_least_daily():
    assert (REMINDERS_EVERY_SECONDS, owner_reminders) in PERIODIC_JOBS
    assert REMINDERS_EVERY_SECONDS <= 24 * 3600


def test_each_job_runs_at_the_first_tick_then_once_per_interval_and_a_failure_stops_no_other(
    monkeypatch,
):
    ran = []

    def failing():
        ran.append("failing")
        raise OSError("search server down")

    def hourly():
        ran.append("hourly")

    monkeypatch.setattr(analytics_scheduler, "PERIODIC_JOBS", ((30, failing), (3600, hourly)))
    last_runs = {}
    periodic_jobs_run(last_runs=last_runs, now=1000.0)
    assert ran == ["failing", "hourly"]
    periodic_jobs_run(last_runs=last_runs, now=1031.0)
    assert ran == ["failing", "hourly", "failing"]
    periodic_jobs_run(last_runs=last_runs, now=4601.0)
    assert ran == ["failing", "hourly", "failing", "failing", "hourly"]


@pytest.mark.django_db
def test_a_scheduler_tick_tells_owners_whose_review_date_passed(
    active_engine,  # noqa: F811 - fixture
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=timezone.localdate() - datetime.timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("analytics_scheduler", "--once", stdout=io.StringIO())
        call_command("analytics_scheduler", "--once", stdout=io.StringIO())
    assert Notification.objects.filter(user=owner, kind="asset_review").count() == 1
    assert len(mail.outbox) == 1
