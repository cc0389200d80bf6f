"""Upgrading to cms migration 0008 (reminders record who was told): a reminder recorded
before counts as told to the asset's owner, who does not hear of that date again."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.roles import MARKETER
from cms.models import OwnerReminder
from cms.reminders import owner_reminders_send
from notifications.models import Notification
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("cms", "0007_document_queued_at")]


def test_a_reminder_recorded_before_the_upgrade_is_not_sent_again():
    # The asset is made with today's models, before going back: later migrations change
    # tables it touches (taxonomy terms gained CRM names in 0011).
    owner = make_user(role=MARKETER)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    asset = make_asset("Pricing deck", owner=owner, review_by=yesterday)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("cms", "OwnerReminder")
    old.objects.create(asset_id=asset.pk, kind="review", due=yesterday.isoformat())

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert owner_reminders_send() == 0
    assert not Notification.objects.filter(user=owner).exists()
    assert list(OwnerReminder.objects.values_list("owner_id", flat=True)) == [owner.pk]
