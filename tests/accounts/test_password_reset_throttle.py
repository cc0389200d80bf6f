"""The password reset form (/admin/password_reset/, accounts.password_reset): one mail per
account per window, answered the same whether a mail went or not; a cap on requests per
client address, past which the form answers 429 with when to retry; and the mail's link
still resets the password."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client

from accounts.models import PasswordResetMail, PasswordResetRequest
from tests.factories import make_user

pytestmark = pytest.mark.django_db
URL = "/admin/password_reset/"
DONE = "/admin/password_reset/done/"


def _ask(client: Client, email: str):
    return client.post(URL, {"email": email})


@pytest.fixture
def client():
    return Client(REMOTE_ADDR="203.0.113.7")


def test_the_first_request_mails_the_account(client, mailoutbox):
    make_user("rep")
    response = _ask(client, "rep@example.com")
    assert response.status_code == 302 and response["Location"] == DONE
    assert [mail.to for mail in mailoutbox] == [["rep@example.com"]]


def test_a_second_request_within_the_window_answers_the_same_and_mails_nothing(client, mailoutbox):
    make_user("rep")
    first, second = _ask(client, "rep@example.com"), _ask(client, "rep@example.com")
    assert (second.status_code, second["Location"]) == (first.status_code, first["Location"])
    assert len(mailoutbox) == 1


def test_another_account_is_mailed_though_one_was_just_mailed(client, mailoutbox):
    make_user("rep")
    make_user("lead")
    _ask(client, "rep@example.com")
    _ask(client, "lead@example.com")
    assert [mail.to for mail in mailoutbox] == [["rep@example.com"], ["lead@example.com"]]


def test_accounts_sharing_an_address_are_limited_each_on_its_own(client, mailoutbox):
    rep = make_user("rep")
    twin = make_user("rep2")
    twin.email = "rep@example.com"
    twin.save()
    _ask(client, "rep@example.com")
    assert len(mailoutbox) == 2
    PasswordResetMail.objects.filter(user=rep).update(
        sent_at=PasswordResetMail.objects.get(user=rep).sent_at - datetime.timedelta(hours=1)
    )
    _ask(client, "rep@example.com")
    assert len(mailoutbox) == 3  # only rep's window had passed


def test_after_the_window_a_mail_goes_again(client, mailoutbox, settings):
    user = make_user("rep")
    _ask(client, "rep@example.com")
    window = datetime.timedelta(minutes=settings.PASSWORD_RESET_ACCOUNT_MINUTES)
    PasswordResetMail.objects.filter(user=user).update(
        sent_at=PasswordResetMail.objects.get(user=user).sent_at - window
    )
    _ask(client, "rep@example.com")
    assert len(mailoutbox) == 2


def test_an_unknown_address_answers_the_same_and_mails_nothing(client, mailoutbox):
    response = _ask(client, "nobody@example.com")
    assert response.status_code == 302 and response["Location"] == DONE
    assert mailoutbox == []


def test_past_the_address_cap_the_form_answers_429_with_when_to_retry(client, mailoutbox, settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 3
    make_user("rep")
    _ask(client, "rep@example.com")
    _ask(client, "nobody@example.com")  # unknown addresses count too
    _ask(client, "other@example.com")
    response = _ask(client, "rep@example.com")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    assert "Too many password reset requests" in page and 'id="retry-when"' in page
    assert len(mailoutbox) == 1
    # Another client address is not held back by this one's cap.
    assert _ask(Client(REMOTE_ADDR="198.51.100.9"), "nobody@example.com").status_code == 302


def test_the_address_cap_counts_the_last_hour_only(client, settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 1
    _ask(client, "nobody@example.com")
    assert _ask(client, "nobody@example.com").status_code == 429
    PasswordResetRequest.objects.update(
        requested_at=PasswordResetRequest.objects.get().requested_at
        - datetime.timedelta(hours=1, seconds=1)
    )
    assert _ask(client, "nobody@example.com").status_code == 302
    assert PasswordResetRequest.objects.count() == 1  # the old request was pruned


def test_the_mailed_link_resets_the_password(client, mailoutbox):
    user = make_user("rep")
    _ask(client, "rep@example.com")
    link = re.search(r"/admin/password_reset/confirm/[^/\s]+/[^/\s]+/", mailoutbox[0].body)
    form = client.get(link.group(0), follow=True)
    assert form.status_code == 200
    new_password = "a brand new passphrase 41"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302 and done["Location"] == "/admin/password_reset/complete/"
    user.refresh_from_db()
    assert user.check_password(new_password)
    # A rep signs in at the library's sign-in, which every role uses: the admin's refuses them.
    complete = client.get(done["Location"]).content.decode()
    assert 'href="/login/"' in complete and "/admin/login/" not in complete
    assert client.login(username="rep", password=new_password)


def test_a_rep_finds_the_reset_from_the_sign_in_page_and_from_a_paused_sign_in(client, settings):
    assert 'href="/admin/password_reset/"' in client.get("/login/").content.decode()
    make_user("rep")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        paused = client.post("/login/", {"username": "rep", "password": "wrong"})
    assert paused.status_code == 429
    assert 'href="/admin/password_reset/"' in paused.content.decode()


def test_with_the_reset_turned_off_no_page_offers_it(client, settings):
    settings.WAGTAIL_PASSWORD_RESET_ENABLED = False
    assert "forgot-password" not in client.get("/login/").content.decode()
    assert client.get("/admin/password_reset/").status_code == 404
