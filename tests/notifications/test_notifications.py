"""Notifications: the bell and list, e-mail at once or as a daily digest, nobody else's."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.roles import REP
from notifications.models import Notification, NotificationPreference
from notifications.services import (
    notification_email,
    notification_preference_set,
    notifications_digest_send,
    notifications_mark_read,
    notify,
)
from tests.factories import make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_notify_mails_each_user_once_after_commit(django_capture_on_commit_callbacks):
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep, rep], kind="test", text="Your deck is ready", url="/library/deck/")
    assert Notification.objects.filter(user=rep).count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [rep.email]
    assert mail.outbox[0].subject == "Your deck is ready"
    assert "http://127.0.0.1:8000/library/deck/" in mail.outbox[0].body
    assert Notification.objects.get().emailed_at is not None
    assert notification_email(notification_id=Notification.objects.get().pk) is False
    assert len(mail.outbox) == 1  # a mailed notification is not mailed again


def test_a_notification_whose_text_holds_a_line_break_is_still_mailed(
    django_capture_on_commit_callbacks,
):
    """A rep's note on a share link ("Bob\nBcc: ...") went into the subject, which the mail
    library refuses: the mail was never sent."""
    rep = make_user(role=REP)
    text = "Your buyer opened “Deck” for Acme (Bob\nBcc: x@example.com)."
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="share_opened", text=text, url="/analytics/share-links/")
    (sent,) = mail.outbox
    assert sent.subject == "Your buyer opened “Deck” for Acme (Bob Bcc: x@example.com)."
    assert sent.bcc == [] and sent.to == [rep.email]
    assert Notification.objects.get().emailed_at is not None


def test_a_long_subject_is_cut_after_a_whole_word_and_the_body_keeps_it_all(
    django_capture_on_commit_callbacks,
):
    """An outside audit: a reminder's subject ended "...set a new review-by d"."""
    rep = make_user(role=REP)
    text = (
        "Review due: " + "Quarterly pricing objections handbook " * 6 + "set a new review-by date."
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="review_due", text=text)
    (sent,) = mail.outbox
    kept = sent.subject.removesuffix("…")
    assert len(sent.subject) <= 150 and kept != sent.subject
    assert text.startswith(kept) and text[len(kept)] == " "  # whole words only
    assert text in sent.body


def test_a_rolled_back_change_mails_nobody(django_capture_on_commit_callbacks):
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(users=[rep], kind="test", text="Never sent")
    assert callbacks and not mail.outbox  # nothing goes out until the transaction commits


def test_a_failing_mail_backend_keeps_the_notification(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_notifications.BrokenBackend"
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Still here")
    notification = Notification.objects.get()
    assert notification.emailed_at is None and notification.read_at is None


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


def test_daily_digest_sends_one_message_and_never_twice(django_capture_on_commit_callbacks):
    rep = make_user(role=REP)
    notification_preference_set(user=rep, email=NotificationPreference.Email.DAILY)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="First thing")
        notify(users=[rep], kind="test", text="Second thing")
    assert not mail.outbox  # not at once
    call_command("notifications_digest", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1
    assert "First thing" in mail.outbox[0].body and "Second thing" in mail.outbox[0].body
    assert notifications_digest_send() == 0 and len(mail.outbox) == 1


def test_the_scheduler_mails_the_digest_once_a_day_from_its_hour_with_nobody_acting(
    django_capture_on_commit_callbacks,
):
    from datetime import datetime

    from analytics.management.commands.analytics_scheduler import DIGEST_HOUR, digest_tick

    rep = make_user(role=REP)
    notification_preference_set(user=rep, email=NotificationPreference.Email.DAILY)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Overnight news")
    early = datetime(2026, 3, 2, DIGEST_HOUR - 1, 59)
    assert digest_tick(now=early, last=None) is None and not mail.outbox  # not before its hour
    due = datetime(2026, 3, 2, DIGEST_HOUR, 0)
    last = digest_tick(now=due, last=None)
    assert len(mail.outbox) == 1 and "Overnight news" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Afternoon news")
    assert digest_tick(now=due.replace(hour=15), last=last) == last  # once a day
    assert len(mail.outbox) == 1
    digest_tick(now=datetime(2026, 3, 3, DIGEST_HOUR, 5), last=last)
    assert len(mail.outbox) == 2 and "Afternoon news" in mail.outbox[1].body
    assert "Overnight news" not in mail.outbox[1].body


def test_never_means_in_app_only(django_capture_on_commit_callbacks):
    rep = make_user(role=REP)
    notification_preference_set(user=rep, email=NotificationPreference.Email.NEVER)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rep], kind="test", text="Quiet")
    assert not mail.outbox and notifications_digest_send() == 0
    assert Notification.objects.filter(user=rep).count() == 1


def test_a_bad_preference_names_the_field():
    from django.core.exceptions import ValidationError

    rep = make_user(role=REP)
    with pytest.raises(ValidationError) as error:
        notification_preference_set(user=rep, email="hourly")
    assert "email" in error.value.message_dict
    assert not NotificationPreference.objects.exists()


def test_the_bell_counts_unread_and_the_list_shows_only_ones_own():
    rep, other = make_user(role=REP), make_user(role=REP)
    notify(users=[rep], kind="test", text="For the rep <b>bold</b>", url="/home/")
    notify(users=[other], kind="test", text="For someone else")
    page = _client(rep).get("/notifications/").content.decode()
    assert 'class="bell-count">1<' in page
    assert "For the rep &lt;b&gt;bold&lt;/b&gt;" in page and "For someone else" not in page


def test_opening_a_notification_marks_it_read_and_follows_its_link():
    rep, other = make_user(role=REP), make_user(role=REP)
    (mine,) = notify(users=[rep], kind="test", text="Go", url="/home/")
    (theirs,) = notify(users=[other], kind="test", text="Not yours", url="/home/")
    response = _client(rep).post(f"/notifications/{mine.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert _client(rep).post(f"/notifications/{theirs.pk}/open/")["Location"] == "/notifications/"
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None


def test_a_notification_never_leads_off_the_site():
    rep = make_user(role=REP)
    (odd,) = notify(users=[rep], kind="test", text="Odd link", url="//evil.example.com/")
    assert _client(rep).post(f"/notifications/{odd.pk}/open/")["Location"] == "/notifications/"


def test_mark_all_read_touches_only_ones_own():
    rep, other = make_user(role=REP), make_user(role=REP)
    notify(users=[rep, other], kind="test", text="Both")
    assert notifications_mark_read(user=rep) == 1
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 1


def test_marking_read_from_the_list_marks_the_ids_sent_or_all_when_none():
    rep = make_user(role=REP)
    first, second = (notify(users=[rep], kind="test", text=t)[0] for t in ("One", "Two"))
    client = _client(rep)
    assert client.post("/notifications/read/", {"id": [str(first.pk)]}).status_code == 302
    assert Notification.objects.filter(user=rep, read_at__isnull=True).get() == second
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()


@pytest.mark.parametrize("value", ["²", "9" * 5000, "9" * 19, "-1", ""])
def test_marking_read_with_an_id_that_is_not_an_id_marks_nothing_and_is_no_error(value):
    rep = make_user(role=REP)
    notify(users=[rep], kind="test", text="Unread")
    response = _client(rep).post("/notifications/read/", {"id": [value]})
    assert response.status_code == 302
    assert Notification.objects.filter(user=rep, read_at__isnull=True).count() == 1


def test_the_email_setting_is_saved_from_the_list():
    rep = make_user(role=REP)
    _client(rep).post("/notifications/preference/", {"email": "daily"})
    assert NotificationPreference.objects.get(user=rep).email == "daily"


def test_the_bell_is_counted_once_per_page_and_never_for_live_search_results(
    active_engine,  # noqa: F811
):
    rep = make_user(role=REP)
    notify(users=[rep], kind="test", text="Unread")
    client = _client(rep)

    def bell_queries(**headers) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/search/?q=deck", **headers).status_code == 200
        return sum("notifications_notification" in q["sql"] for q in queries.captured_queries)

    assert bell_queries() == 1
    assert bell_queries(HTTP_X_SEARCH_PARTIAL="1") == 0
