"""Notifications about an asset follow who may see it (the list, the bell, the link, every
mail), and their mails go out from a background task, never inside the request that made
them."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.roles import MARKETER, REP
from analytics.usage import share_link_create
from cms.missing_files import NOTICE_KIND
from notifications.models import Notification, NotificationPreference
from notifications.selectors import notifications_unread_count
from notifications.services import (
    CLAIM_EXPIRES,
    RESEND_AFTER,
    RETRY_WITHIN,
    notification_preference_set,
    notifications_digest_send,
    notifications_email,
    notifications_failed_resend,
    notify,
)
from tests.analytics.helpers import walk_deal
from tests.factories import make_asset, make_document, make_team, make_user

pytestmark = pytest.mark.django_db
SECRET = "Board pricing 2027"


class BrokenBackend:
    """A mail server that refuses every message."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


class WorkerKilled(BaseException):
    """The worker process dies (SIGKILL, a restart, out of memory): nothing after runs."""


class KilledWhileSendingBackend(BrokenBackend):
    def send_messages(self, messages):
        raise WorkerKilled


#: A buyer's browser (a request naming no client is no buyer: analytics.share_views).
BUYER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _restrict(asset, team) -> None:
    asset.restricted_teams.set([team])
    asset.save_revision().publish()


@pytest.fixture
def told_rep():
    """A rep on a daily digest whose buyer opened two assets; one of them, ``SECRET``, is
    then restricted to another team."""
    rep = make_user(role=REP, teams=[make_team("East")])
    notification_preference_set(user=rep, email=NotificationPreference.Email.DAILY)
    deal = walk_deal("006NT", ["discover"], owner=rep.username)
    secret = make_asset(SECRET, document=make_document("board.txt", b"board"))
    kept = make_asset("Open <b>deck</b>", document=make_document("open.txt", b"open"))
    for asset in (secret, kept):
        _, token = share_link_create(user=rep, asset=asset, deal=deal)
        assert Client(HTTP_USER_AGENT=BUYER).get(f"/s/{token}/").status_code == 200
    assert Notification.objects.filter(user=rep, kind="share_opened").count() == 2
    _restrict(secret, make_team("Board"))
    return rep, secret, kept


def test_a_buyers_open_of_an_asset_restricted_away_from_the_rep_is_named_nowhere(told_rep):
    rep, secret, kept = told_rep
    notify(users=[rep], kind="test", text="Plain news")  # about no asset: shown as before
    client = _client(rep)
    page = client.get("/notifications/").content.decode()
    assert SECRET not in page and "Plain news" in page
    assert "Your buyer opened “Open &lt;b&gt;deck&lt;/b&gt;”" in page  # still escaped
    assert 'class="bell-count">2<' in page and notifications_unread_count(user=rep) == 2
    hidden = Notification.objects.get(asset_id=secret.pk)
    opened = client.post(f"/notifications/{hidden.pk}/open/")
    assert opened["Location"] == "/notifications/"  # reads as missing, no link followed
    hidden.refresh_from_db()
    assert hidden.read_at is None
    assert notifications_digest_send() == 1
    (digest,) = mail.outbox
    assert SECRET not in digest.body and SECRET not in digest.subject
    assert "Open <b>deck</b>" in digest.body and "Plain news" in digest.body
    assert digest.subject == "2 updates for you"
    assert Notification.objects.get(pk=hidden.pk).emailed_at is None


def test_the_notification_comes_back_when_the_asset_is_shown_to_the_rep_again(told_rep):
    rep, secret, _ = told_rep
    secret.restricted_teams.set([])
    secret.save_revision().publish()
    assert SECRET in _client(rep).get("/notifications/").content.decode()
    assert notifications_unread_count(user=rep) == 2


def test_mark_all_read_leaves_what_the_user_cannot_see_alone(told_rep):
    rep, secret, _ = told_rep
    _client(rep).post("/notifications/read/")
    assert Notification.objects.get(asset_id=secret.pk).read_at is None


def test_an_unpublished_asset_is_no_longer_named_to_a_rep_but_still_to_its_marketer(
    django_capture_on_commit_callbacks,
):
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asset = make_asset(SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text=f"About “{SECRET}”", asset_id=asset.pk)
        notify(users=[marketer], kind=NOTICE_KIND, text=f"Fix “{SECRET}”", asset_id=asset.pk)
    assert len(mail.outbox) == 2  # both could see it then
    asset.unpublish()
    assert SECRET not in _client(rep).get("/notifications/").content.decode()
    assert SECRET in _client(marketer).get("/notifications/").content.decode()
    asset.delete()
    assert SECRET not in _client(marketer).get("/notifications/").content.decode()
    assert notifications_unread_count(user=marketer) == 0


def test_an_immediate_mail_about_an_asset_restricted_before_it_goes_out_is_never_sent(
    django_capture_on_commit_callbacks,
):
    rep = make_user(role=REP)
    asset = make_asset(SECRET)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(users=[rep], kind="test", text=f"Your buyer opened “{SECRET}”", asset_id=asset.pk)
        notify(users=[rep], kind="test", text="Nothing secret")
    _restrict(asset, make_team("Board"))
    for callback in callbacks:
        callback()
    assert [message.subject for message in mail.outbox] == ["Nothing secret"]
    assert notifications_digest_send() == 0 and len(mail.outbox) == 1


def test_a_notification_about_nothing_in_particular_is_shown_as_before():
    rep = make_user(role=REP)
    notify(users=[rep], kind="test", text="Your deck is ready", url="/home/")
    assert "Your deck is ready" in _client(rep).get("/notifications/").content.decode()


# --- Mail from a background task ------------------------------------------------------------


def test_a_buyers_open_with_the_mail_server_down_still_answers_and_is_mailed_later(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_asset_notifications.BrokenBackend"
    rep = make_user(role=REP)
    deal = walk_deal("006MS", ["discover"], owner=rep.username)
    asset = make_asset("Pricing one-pager", document=make_document("pricing.txt", b"price"))
    _, token = share_link_create(user=rep, asset=asset, deal=deal)
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        with django_capture_on_commit_callbacks(execute=True):
            assert Client(HTTP_USER_AGENT=BUYER).get(f"/s/{token}/").status_code == 200
    assert "notification e-mail to user" in caplog.text and "connection refused" in caplog.text
    told = Notification.objects.get(user=rep, kind="share_opened")
    assert told.emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_failed_resend() == 0  # just made: still its task's
    soon = timezone.now() + RESEND_AFTER + timedelta(minutes=1)
    assert notifications_failed_resend(now=soon) == 1  # the scheduler's next hourly run
    (sent,) = mail.outbox
    assert sent.to == [rep.email] and sent.subject.startswith("Your buyer opened “Pricing")
    assert notifications_digest_send(now=soon) == 0 and len(mail.outbox) == 1  # never twice


def test_the_request_only_enqueues_the_mail_and_the_worker_sends_it(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # Inside the test's transaction the worker must keep the test's connection.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    rep = make_user(role=REP)
    deal = walk_deal("006BG", ["discover"], owner=rep.username)
    asset = make_asset("Pricing one-pager", document=make_document("pricing.txt", b"price"))
    _, token = share_link_create(user=rep, asset=asset, deal=deal)
    with django_capture_on_commit_callbacks(execute=True):
        assert Client(HTTP_USER_AGENT=BUYER).get(f"/s/{token}/").status_code == 200
    assert not mail.outbox  # the buyer's request sent nothing
    queued = DBTaskResult.objects.filter(status="READY", task_path__endswith="email_task")
    assert queued.count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)
    (sent,) = mail.outbox
    assert sent.to == [rep.email] and "Pricing one-pager" in sent.subject
    assert Notification.objects.get(user=rep).emailed_at is not None


def test_a_failed_mail_is_retried_only_while_it_is_news(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_asset_notifications.BrokenBackend"
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Old news")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + RETRY_WITHIN + timedelta(minutes=1)
    assert notifications_digest_send(now=later) == 0 and not mail.outbox
    soon = timezone.now() + RESEND_AFTER + timedelta(minutes=1)
    assert notifications_digest_send(now=soon) == 1 and mail.outbox[0].subject == "Old news"


def test_a_retry_never_mails_a_user_who_chose_never_or_the_digest_twice(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_asset_notifications.BrokenBackend"
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Failed at once")
    notification_preference_set(user=rep, email=NotificationPreference.Email.NEVER)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    soon = timezone.now() + RESEND_AFTER + timedelta(minutes=1)
    assert notifications_digest_send(now=soon) == 0 and not mail.outbox


def test_a_mail_whose_worker_died_while_sending_it_goes_out_with_the_next_run(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = (
        "tests.notifications.test_asset_notifications.KilledWhileSendingBackend"
    )
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):  # the task dies; logged as failed
        notify(users=[rep], kind="test", text="Your request was answered")
    claimed = Notification.objects.get(user=rep)
    assert claimed.emailed_at is None and claimed.mail_claimed_at is not None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Within CLAIM_EXPIRES the claim may still be a live worker's: nobody takes it over.
    assert notifications_email(notification_ids=[claimed.pk]) is False and not mail.outbox
    later = claimed.mail_claimed_at + max(CLAIM_EXPIRES, RESEND_AFTER) + timedelta(minutes=1)
    assert notifications_failed_resend(now=later) == 1  # the scheduler's next hourly run
    (sent,) = mail.outbox
    assert sent.to == [rep.email] and sent.subject == "Your request was answered"
    assert Notification.objects.get(user=rep).emailed_at is not None
    assert notifications_digest_send(now=later + timedelta(hours=1)) == 0  # never twice
