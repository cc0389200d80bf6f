"""A link asset's address is one the library can open: reps open it through
/assets/<id>/open/ and buyers through a share link, a redirect either way. The editor took
ftps:// (URLField's default), which the open view then answered with a 400."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from accounts.roles import MARKETER
from cms.models import AssetPage
from tests.cms.test_asset_owner import save_draft
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(client):
    marketer = make_user("maya", role=MARKETER)
    client.force_login(marketer)
    return make_asset("Demo video", external_url="https://video.example.com/demo", owner=marketer)


def _draft_url(asset: AssetPage) -> str:
    return AssetPage.objects.get(pk=asset.pk).latest_revision.content["external_url"]


def test_an_ftps_link_is_refused_in_the_editor_naming_the_field_and_the_schemes(client, video):
    typed = "ftps://files.example.com/demo.mp4"

    response = save_draft(client, video, external_url=typed)

    assert response.status_code == 200  # the editor again, saying why
    html = unescape(response.content.decode())
    assert (
        "The external URL must start with http:// or https://: the library cannot open "
        f"“{typed}” for reps or buyers."
    ) in html
    assert f'name="external_url" value="{typed}"' in html  # what was typed is still there
    assert _draft_url(video) == "https://video.example.com/demo"


def test_an_https_link_still_saves_from_the_editor(client, video):
    response = save_draft(client, video, external_url="https://video.example.com/new")

    assert response.status_code == 302
    assert _draft_url(video) == "https://video.example.com/new"


def test_a_1500_character_sharepoint_link_saves_and_opens(client, video):
    """SharePoint and Stream addresses run past URLField's default 200 characters, which the
    editor refused ("Ensure this value has at most 200 characters")."""
    start = "https://tidewater.sharepoint.example/sites/sales/_layouts/15/stream.aspx?id="
    long_link = start + "a1b2c3%2F" * ((1500 - len(start)) // 9)
    long_link += "x" * (1500 - len(long_link))

    response = save_draft(client, video, external_url=long_link)
    assert response.status_code == 302
    AssetPage.objects.get(pk=video.pk).latest_revision.publish()

    opened = client.get(reverse("cms:asset_link_open", args=[video.pk]))
    assert opened.status_code == 302 and opened["Location"] == long_link
    assert len(AssetPage.objects.get(pk=video.pk).external_url) == 1500
