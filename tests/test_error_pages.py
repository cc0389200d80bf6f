"""The pages people see when something is refused or goes wrong: the site's own, with a way
back to the library, never Django's bare defaults, and never anything from the database (the
error may be that it is busy)."""

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import path

from accounts.roles import REP
from cms.middleware import DatabaseBusyMiddleware
from enablement.urls import urlpatterns as site_urls
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _boom(request):
    raise RuntimeError("a bug")


def _remember(request):
    request.session["remembered"] = True  # as "Used in deal" marks the asset page it returns to
    return HttpResponse("done")


urlpatterns = [path("boom/", _boom), path("remember/", _remember), *site_urls]


def _rep():
    client = Client(raise_request_exception=False)
    client.force_login(make_user(role=REP))
    return client


def _page(response) -> str:
    text = response.content.decode()
    assert '<a href="/">Back to the library</a>' in text
    assert "/static/enablement/app.css" in text
    return text


def test_an_address_with_no_page_is_the_sites_not_found_page():
    response = _rep().get("/library/no-such-asset/", **BROWSER)
    assert response.status_code == 404
    text = _page(response)
    assert "Nothing here" in text
    # It says to search the library, so it offers the box to do it (it had none).
    assert '<form role="search" action="/search/" method="get">' in text
    assert '<label for="error-search">Search the library</label>' in text
    assert '<input id="error-search" type="search" name="q"' in text


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_the_sites_error_page_and_shows_nothing_of_the_error():
    response = _rep().get("/boom/", **BROWSER)
    assert response.status_code == 500
    text = _page(response)
    assert "Something went wrong on our side" in text
    assert "a bug" not in text and "RuntimeError" not in text


def test_a_form_sent_without_its_csrf_token_says_how_to_recover():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=REP))
    response = client.post("/analytics/requests/", {"text": "a pricing sheet"}, **BROWSER)
    assert response.status_code == 403
    assert "Go back, reload the page and send it again" in _page(response)


def test_a_host_the_site_does_not_serve_is_a_400_page_not_a_server_error():
    """Refused before anyone is signed in (an operator's ALLOWED_HOSTS, a scanner's Host)."""
    response = Client(raise_request_exception=False).get(
        "/login/", HTTP_HOST="evil.example", **BROWSER
    )
    assert response.status_code == 400
    _page(response)


def test_a_refusal_is_the_sites_page_to_a_browser_and_text_to_a_script():
    client = _rep()
    page = client.get("/search/?q=a%00b", **BROWSER)
    assert page.status_code == 400
    assert "The parameter &#x27;q&#x27; holds a NUL character" in _page(page)
    script = client.get("/search/?q=a%00b")
    assert script["Content-Type"] == "text/plain; charset=utf-8"
    assert "The parameter 'q' holds a NUL character" in script.content.decode()


@pytest.mark.parametrize(("method", "try_again"), [("get", True), ("post", False)])
def test_a_busy_database_page_offers_to_try_again_only_what_can_be_repeated(method, try_again):
    request = getattr(RequestFactory(), method)("/search/", **BROWSER)
    middleware = DatabaseBusyMiddleware(lambda request: None)
    response = middleware.process_exception(request, OperationalError("database is locked"))
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    text = _page(response)
    assert "The library is busy saving other changes" in text
    assert ('<a class="button" href="">Try again</a>' in text) is try_again


def test_a_busy_form_page_says_how_to_send_it_again_and_leads_back_to_the_admin():
    """An admin Save or Publish that met the busy database: the way back that keeps the form
    is the browser's Back, and the page's link goes to the admin, not the reps' library."""
    request = RequestFactory().post("/admin/pages/27/edit/", **BROWSER)
    response = DatabaseBusyMiddleware(None).process_exception(
        request, OperationalError("database is locked")
    )
    text = response.content.decode()
    assert "Go back (your browser keeps what you typed) and send it again" in text
    assert '<a href="/admin/">Back to the admin</a>' in text


def _sessions_locked(monkeypatch):
    def locked(self, *args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(Session, "save", locked)


@override_settings(ROOT_URLCONF=__name__)
def test_a_session_the_busy_database_would_not_save_keeps_the_views_answer(monkeypatch):
    """The view's work was done; Django answered 400 "Bad request" (SessionInterrupted) and
    the rep, asked to try again, recorded "Used in deal" twice (outside audit 47, F4)."""
    client = _rep()
    _sessions_locked(monkeypatch)
    response = client.get("/remember/", **BROWSER)
    assert response.status_code == 200 and response.content == b"done"


@override_settings(ROOT_URLCONF=__name__)
def test_a_new_session_the_busy_database_would_not_store_is_the_busy_page(monkeypatch):
    """A first visit whose view keeps something in a new session (a buyer's): the server
    error page before; the user can try again."""
    _sessions_locked(monkeypatch)
    response = Client(raise_request_exception=False).get("/remember/", **BROWSER)
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "The library is busy saving other changes" in response.content.decode()


def test_signing_in_while_the_busy_database_cannot_store_the_session_is_the_busy_page(
    monkeypatch,
):
    make_user("rita", role=REP)
    _sessions_locked(monkeypatch)
    response = Client(raise_request_exception=False).post(
        "/login/", {"username": "rita", "password": PASSWORD}, **BROWSER
    )
    assert response.status_code == 503
    assert "The library is busy saving other changes" in response.content.decode()


def test_a_file_missing_from_the_store_is_a_404_saying_so_not_the_server_error_page():
    """Trying again cannot bring a missing file back: the page says it is unavailable and
    that its owners were told, with the way back to the asset (``cms.missing_files``)."""
    from tests.factories import make_asset, make_document

    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"))
    asset.document.file.storage.delete(asset.document.file.name)
    response = _rep().get(f"/assets/{asset.pk}/download/", **BROWSER)
    assert response.status_code == 404
    text = response.content.decode()
    assert "This file is not available" in text and "have been told" in text
    assert f'<a href="{asset.url}">Back to “Pricing deck”</a>' in text
    assert "Something went wrong" not in text and "FileNotFoundError" not in text
