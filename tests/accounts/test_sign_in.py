"""The sign-in form after a mistake: the username typed is kept (it was cleared, so a person
who mistyped only the password typed both again; an outside accessibility audit) and the
cursor waits in the password field, both fields marked as the ones the error is about."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


class _Inputs(HTMLParser):
    """The attributes of each named input of a page, by name."""

    def __init__(self):
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.inputs[found["name"]] = found


def _inputs(response) -> dict[str, dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(response.content.decode())
    return parser.inputs


def test_a_wrong_password_keeps_the_username_and_waits_in_the_password_field(client):
    make_user("rita")
    response = client.post("/login/", {"username": "rita", "password": "not it"})
    assert response.status_code == 200
    assert 'id="login-error" role="alert"' in response.content.decode()
    fields = _inputs(response)
    assert fields["username"]["value"] == "rita"
    assert "autofocus" not in fields["username"]
    assert "autofocus" in fields["password"]
    assert fields["password"].get("value") is None  # a password is never sent back
    for name in ("username", "password"):
        assert fields[name]["aria-invalid"] == "true"
        assert fields[name]["aria-describedby"] == "login-error"


def test_the_first_visit_starts_in_the_username_field(client):
    fields = _inputs(client.get("/login/"))
    assert fields["username"]["value"] == ""
    assert "autofocus" in fields["username"] and "autofocus" not in fields["password"]
    assert "aria-invalid" not in fields["username"]


def test_a_username_with_markup_comes_back_as_text(client):
    typed = '"><script>alert(1)</script>'
    response = client.post("/login/", {"username": typed, "password": PASSWORD})
    assert "<script>alert(1)" not in response.content.decode()
    assert _inputs(response)["username"]["value"] == typed
