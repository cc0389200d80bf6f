"""Wagtail's redirects from the old URL of a moved or renamed page (cms.middleware): they lead
whoever may open the page to it, and tell nobody else where a restricted page went."""

import pytest
from wagtail.contrib.redirects.models import Redirect

from accounts.roles import REP
from tests.factories import make_asset, make_section, make_team, make_user

pytestmark = pytest.mark.django_db


def test_an_old_url_leads_only_those_who_may_open_the_page_to_it(client):
    emea = make_team("EMEA")
    outsider = make_user(role=REP)
    insider = make_user(role=REP, teams=[emea])
    restricted = make_section("EMEA field kit", teams=[emea])
    asset = make_asset("Lemonade one-pager")
    old_url = asset.url
    asset.move(restricted, pos="last-child")
    asset.refresh_from_db()
    assert Redirect.objects.filter(redirect_page=asset).exists()  # Wagtail made one on the move

    client.force_login(insider)
    response = client.get(old_url)
    assert (response.status_code, response["Location"]) == (301, asset.url)

    client.force_login(outsider)
    response = client.get(old_url)
    assert response.status_code == 404
    assert "emea-field-kit" not in response.content.decode()
    assert client.get(asset.url).status_code == 404  # the page itself, as before


def test_an_old_url_of_an_open_page_still_redirects_everyone(client):
    rep = make_user(role=REP)
    asset = make_asset("Pricing sheet")
    old_url = asset.url
    asset.move(make_section("Pricing"), pos="last-child")
    asset.refresh_from_db()
    client.force_login(rep)
    response = client.get(old_url)
    assert (response.status_code, response["Location"]) == (301, asset.url)
