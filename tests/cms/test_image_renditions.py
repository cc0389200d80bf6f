"""The previews of Wagtail's image admin (the listing, the chooser) are renditions stored
under MEDIA_URL + "images/", which nothing served: every preview was a 404 (an outside audit:
marketers picked thumbnails blind). They are served to the users the admin shows the image
to, and to no one else: a restricted asset's thumbnail reaches a rep only through
/assets/<id>/thumbnail/, which asks whether they may see the asset. (Files on S3: see
``test_storage_s3``.)"""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from accounts.roles import MARKETER, REP
from tests.factories import make_asset, make_document, make_image, make_team, make_user, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_renditions_cached")]


@pytest.fixture
def marketer_client(client):
    client.force_login(make_user(role=MARKETER))
    return client


def preview_urls(client, url: str) -> list[str]:
    """The addresses of the previews (Wagtail's max-165x165 renditions) a page shows."""
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    if response["Content-Type"].startswith("application/json"):  # the chooser's modal
        body = response.json()["html"]
    return re.findall(r'src="([^"]*\.max-165x165\.[^"]*)"', body)


def png_served(response) -> PILImage.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return PILImage.open(io.BytesIO(b"".join(response.streaming_content)))


def test_the_image_listing_previews_an_upload_for_the_marketer(marketer_client):
    uploaded = marketer_client.post(
        reverse("wagtailimages:add_multiple"),
        {"files[]": SimpleUploadedFile("ok.png", png_bytes("red"), content_type="image/png")},
    )
    assert uploaded.json()["success"] is True

    [url] = preview_urls(marketer_client, reverse("wagtailimages:index"))

    assert url == "/media/images/ok.max-165x165.png"
    preview = png_served(marketer_client.get(url))
    assert preview.convert("RGB").getpixel((1, 1)) == (255, 0, 0)


def test_the_image_chooser_previews_each_image_for_the_marketer(marketer_client):
    make_image("red", color="red")
    make_image("blue", color="blue")

    urls = preview_urls(marketer_client, reverse("wagtailimages_chooser:choose"))

    assert len(urls) == 2
    for url in urls:
        png_served(marketer_client.get(url))


def test_a_restricted_assets_thumbnail_preview_is_not_served_to_reps_or_the_signed_out(
    client, marketer_client
):
    """A rep of the asset's team, who may see its thumbnail at /assets/<id>/thumbnail/, and
    one of another team, who may not, get the same 404 as for a name that is no rendition;
    signed out, the address sends to sign in."""
    team = make_team("Strategic accounts")
    asset = make_asset("Secret pricing", thumbnail_image=make_image("secret"), teams=[team])
    [url] = preview_urls(marketer_client, reverse("wagtailimages:index"))
    png_served(marketer_client.get(url))
    missing = marketer_client.get("/media/images/nothing.max-165x165.png")
    assert missing.status_code == 404

    client.logout()
    signed_out = client.get(url)
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith(reverse("login"))

    for teams, thumbnail in (([team], 200), ([make_team("Mid-market")], 404)):
        client.force_login(make_user(role=REP, teams=teams))
        refused = client.get(url)
        assert refused.status_code == 404
        assert refused.content == client.get("/media/images/nothing.max-165x165.png").content
        assert client.get(f"/assets/{asset.pk}/thumbnail/").status_code == thumbnail


def test_only_renditions_are_served_under_media(marketer_client):
    """Not an original image, a document, a file made from one, nor any other file on
    disk, even one under images/ or reached by ``..``: the name must be a rendition's."""
    image = make_image("cover")
    document = make_document("rendition-probe.txt", b"brief")  # not another test's name
    stray = default_storage.save("images/stray.png", ContentFile(png_bytes("blue")))
    names = [
        image.file.name,
        document.file.name,
        stray,
        f"images/../{image.file.name}",
        f"images/../{document.file.name}",
    ]
    for name in names:
        assert default_storage.exists(name.replace("images/../", ""))
        response = marketer_client.get(f"/media/{name}")
        assert response.status_code == 404, name
