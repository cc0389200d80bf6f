"""Owners hear when an asset's review-by date passes or it expires: one notification and one
mail per asset and date, whatever the number of runs, mail failures or schedulers at once."""

import datetime
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.roles import MARKETER, REP
from cms import reminders
from cms.models import AssetPage, OwnerReminder
from cms.reminders import owner_reminders_send
from notifications.models import Notification, NotificationPreference
from notifications.services import notification_preference_set, notifications_digest_send
from tests.factories import make_asset, make_team, make_user
from tests.locks import short_busy_timeout, table_held_busy

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def _run(capture, *, now=None) -> int:
    with capture(execute=True):
        return owner_reminders_send(now=now)


@pytest.mark.django_db
def test_owner_of_an_asset_past_its_review_date_hears_once_after_two_runs(
    django_capture_on_commit_callbacks,
):
    owner = make_user("marketer", role=MARKETER)
    asset = make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)

    assert _run(django_capture_on_commit_callbacks) == 1
    assert _run(django_capture_on_commit_callbacks) == 0

    (notification,) = Notification.objects.filter(user=owner)
    assert notification.kind == "asset_review" and "Pricing deck" in notification.text
    assert notification.url == f"/admin/pages/{asset.pk}/edit/"
    (message,) = mail.outbox
    assert message.to == [owner.email] and "Pricing deck" in message.subject
    assert f"http://127.0.0.1:8000/admin/pages/{asset.pk}/edit/" in message.body


@pytest.mark.django_db
def test_a_new_review_date_that_passes_is_told_again(django_capture_on_commit_callbacks):
    owner = make_user(role=MARKETER)
    asset = make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)
    _run(django_capture_on_commit_callbacks)

    asset.review_by = TODAY + datetime.timedelta(days=30)  # the owner reviewed it
    asset.save_revision().publish()
    assert _run(django_capture_on_commit_callbacks) == 0  # not due yet
    later = timezone.now() + datetime.timedelta(days=31)
    assert _run(django_capture_on_commit_callbacks, now=later) == 1
    assert _run(django_capture_on_commit_callbacks, now=later) == 0

    assert Notification.objects.filter(user=owner, kind="asset_review").count() == 2
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_an_overdue_asset_handed_to_a_new_owner_tells_the_new_owner_once(
    django_capture_on_commit_callbacks,
):
    """The reminder was once per asset and date: an owner who left handed their overdue
    assets over, and the new owner never heard that they were overdue."""
    leaver, successor = make_user(role=MARKETER), make_user(role=MARKETER)
    asset = make_asset("Pricing deck", owner=leaver, review_by=YESTERDAY)
    assert _run(django_capture_on_commit_callbacks) == 1

    asset.owner = successor
    asset.save_revision().publish()
    assert _run(django_capture_on_commit_callbacks) == 1
    assert _run(django_capture_on_commit_callbacks) == 0

    assert Notification.objects.filter(user=leaver, kind="asset_review").count() == 1
    (told,) = Notification.objects.filter(user=successor, kind="asset_review")
    assert "Pricing deck" in told.text
    assert [message.to for message in mail.outbox] == [[leaver.email], [successor.email]]


@pytest.mark.django_db
def test_archived_unpublished_ownerless_and_current_assets_tell_nobody(
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    make_asset("Archived deck", owner=owner, review_by=YESTERDAY, archived=True)
    make_asset("Draft deck", owner=owner, review_by=YESTERDAY, publish=False)
    make_asset("Current deck", owner=owner, review_by=TODAY)  # due today: not passed yet
    ownerless = make_asset("Orphan deck", review_by=YESTERDAY)
    AssetPage.objects.filter(pk=ownerless.pk).update(owner=None)
    gone = make_user(role=MARKETER, is_active=False)
    make_asset("Leaver's deck", owner=gone, review_by=YESTERDAY)

    assert _run(django_capture_on_commit_callbacks) == 0
    assert not Notification.objects.exists() and not mail.outbox
    assert not OwnerReminder.objects.exists()


@pytest.mark.django_db
def test_an_owner_moved_to_a_rep_role_hears_nothing_of_an_asset_they_may_no_longer_see(
    django_capture_on_commit_callbacks,
):
    """A demoted owner stays on the asset (so it still saves); the reminder named it to
    them, title and all, though it is restricted to a team they are not in."""
    moved = make_user(role=REP, teams=[make_team("North America")])
    make_asset(
        "Japan reference customers", owner=moved, review_by=YESTERDAY, teams=[make_team("APAC")]
    )
    assert _run(django_capture_on_commit_callbacks) == 0
    assert not Notification.objects.exists() and not mail.outbox


@pytest.mark.django_db
def test_many_assets_due_are_one_mail_and_a_notification_each(
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    for title in ("Deck one", "Deck two", "Deck three"):
        make_asset(title, owner=owner, review_by=YESTERDAY)

    assert _run(django_capture_on_commit_callbacks) == 3

    assert Notification.objects.filter(user=owner).count() == 3
    (message,) = mail.outbox
    assert "3 of your assets" in message.subject
    assert all(title in message.body for title in ("Deck one", "Deck two", "Deck three"))


@pytest.mark.django_db
def test_an_owner_who_chose_the_daily_digest_gets_reminders_in_it(
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    notification_preference_set(user=owner, email=NotificationPreference.Email.DAILY)
    make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)

    _run(django_capture_on_commit_callbacks)
    assert not mail.outbox
    assert notifications_digest_send() == 1 and "Pricing deck" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_failing_mail_backend_keeps_the_notification_and_the_job_goes_on(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_notifications.BrokenBackend"
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)
    other = make_user(role=MARKETER)
    make_asset("Case study", owner=other, review_by=YESTERDAY)

    assert _run(django_capture_on_commit_callbacks) == 2  # no exception, both owners told

    assert Notification.objects.filter(emailed_at__isnull=True).count() == 2
    assert OwnerReminder.objects.count() == 2
    assert _run(django_capture_on_commit_callbacks) == 0  # recorded: not told again


@pytest.mark.django_db
def test_owner_hears_once_when_an_asset_has_just_expired_and_again_for_a_new_expiry(
    django_capture_on_commit_callbacks,
):
    owner = make_user(role=MARKETER)
    asset = make_asset("Spring promo", owner=owner)
    expiry = timezone.now() - datetime.timedelta(hours=1)
    AssetPage.objects.filter(pk=asset.pk).update(expire_at=expiry, live=False, expired=True)
    old = make_asset("Last year's promo", owner=owner)
    long_ago = timezone.now() - datetime.timedelta(days=30)
    AssetPage.objects.filter(pk=old.pk).update(expire_at=long_ago, live=False, expired=True)

    assert _run(django_capture_on_commit_callbacks) == 1
    assert _run(django_capture_on_commit_callbacks) == 0
    (notification,) = Notification.objects.filter(user=owner)
    assert notification.kind == "asset_expiry" and "Spring promo" in notification.text

    later = timezone.now() + datetime.timedelta(days=2)  # republished with a new expiry
    AssetPage.objects.filter(pk=asset.pk).update(expire_at=later - datetime.timedelta(hours=1))
    assert _run(django_capture_on_commit_callbacks, now=later) == 1
    assert Notification.objects.filter(user=owner, kind="asset_expiry").count() == 2
    assert len(mail.outbox) == 2


def test_the_management_command_sends_them(db, django_capture_on_commit_callbacks, capsys):
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("owner_reminders")
    assert "1 reminder(s) sent." in capsys.readouterr().out
    assert Notification.objects.filter(user=owner).count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_tell_the_owner_once(monkeypatch):
    """Both runs read what is due before either records anything; the unique reminder row
    lets only one of them notify."""
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)
    both_read = threading.Barrier(2, timeout=20)
    original = reminders.reminders_due

    def due_then_wait(**kwargs):
        found = original(**kwargs)
        both_read.wait()
        return found

    monkeypatch.setattr(reminders, "reminders_due", due_then_wait)
    results, errors = [], []

    def run():
        try:
            results.append(owner_reminders_send())
        except Exception as error:  # re-raised by the assert below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors and sorted(results) == [0, 1]
    assert Notification.objects.filter(user=owner).count() == 1
    assert OwnerReminder.objects.count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_is_logged_and_the_next_run_sends(caplog):
    owner = make_user(role=MARKETER)
    make_asset("Pricing deck", owner=owner, review_by=YESTERDAY)
    with short_busy_timeout(0.5), table_held_busy(OwnerReminder):
        assert owner_reminders_send() == 0
    assert "owner reminders: the database is locked" in caplog.text
    assert not Notification.objects.exists()

    assert owner_reminders_send() == 1
    assert Notification.objects.filter(user=owner).count() == 1 and len(mail.outbox) == 1
