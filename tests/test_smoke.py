import pytest

from accounts.roles import MARKETER, REP
from cms.selectors import asset_visible_to, assets_for_user
from tests.factories import make_asset, make_section, make_team, make_user

pytestmark = pytest.mark.django_db


def test_rep_outside_team_cannot_see_asset_in_restricted_section():
    emea = make_team("EMEA")
    section = make_section("EMEA only", teams=[emea])
    asset = make_asset("EMEA pricing deck", parent=section)
    open_asset = make_asset("Global overview")
    outsider = make_user(role=REP)
    insider = make_user(role=REP, teams=[emea])
    marketer = make_user(role=MARKETER)

    assert not asset_visible_to(outsider, asset)
    assert asset_visible_to(insider, asset)
    assert asset_visible_to(marketer, asset)
    assert list(assets_for_user(outsider)) == [open_asset.page_ptr.specific]
    assert set(assets_for_user(insider)) == {asset, open_asset}


def test_favicon_is_the_site_icon_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].startswith("/static/enablement/icon")
    assert response["Location"].endswith(".svg")
