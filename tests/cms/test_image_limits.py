"""Images are drawn in the web process, so their size is bounded (``cms.images``): an outside
audit's 32 KB PNG of 11000×11000 pixels, accepted under Wagtail's default of 128 million
pixels, cost ~0.6 GB for each thumbnail drawn. Larger images are refused at upload, naming
their size and the limit (Wagtail said "unknown number" for one over twice Pillow's limit),
and one stored before the limit was lowered is not drawn: the asset shows a placeholder."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.images import get_image_model
from wagtail.models import Collection

from accounts.roles import MARKETER, REP
from cms.images import image_header_size
from tests.factories import make_asset, make_document, make_image, make_user, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_renditions_cached")]


def blank_png(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG of ``width`` × ``height`` pixels, compressed row by row: a few
    kilobytes, however many pixels (as the audit's files)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def upload(client, view: str, name: str, content: bytes) -> str:
    """Upload an image through Wagtail's single or multiple uploader; the page's text or the
    multiple uploader's error message."""
    picture = SimpleUploadedFile(name, content, content_type="image/png")
    if view == "single":
        root = Collection.get_first_root_node().pk
        data = {"title": name, "file": picture, "collection": root}
        response = client.post(reverse("wagtailimages:add"), data)
        return response.content.decode()
    response = client.post(reverse("wagtailimages:add_multiple"), {"files[]": picture})
    return response.json().get("error_message", "")


@pytest.mark.parametrize("view", ["single", "multiple"])
@pytest.mark.parametrize(
    ("width", "height", "pixels"),
    [
        (8000, 8000, "64,000,000"),  # under Wagtail's 128 million: it was accepted
        (20000, 20000, "400,000,000"),  # over twice Pillow's limit: "unknown number"
    ],
)
def test_an_image_over_the_pixel_limit_is_refused_naming_its_size_and_the_limit(
    client, view, width, height, pixels
):
    client.force_login(make_user(role=MARKETER))

    message = upload(client, view, "huge.png", blank_png(width, height))

    assert (
        f"“huge.png” was not uploaded: it is {width:,}×{height:,} pixels ({pixels} pixels) "
        "and the limit is 50,000,000 pixels. Export it at 7,071×7,071 pixels or smaller "
        "and upload it again."
    ) in message
    assert "unknown number" not in message
    assert not get_image_model().objects.exists()


def test_an_image_at_the_limit_is_accepted(client, settings):
    settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40 * 30
    client.force_login(make_user(role=MARKETER))

    message = upload(client, "multiple", "cover.png", png_bytes())  # 40×30

    assert message == ""
    assert get_image_model().objects.get().width == 40


def test_the_size_is_read_from_the_header_without_pillows_refusal():
    assert image_header_size(io.BytesIO(blank_png(40000, 40000))) == (40000, 40000)
    assert image_header_size(io.BytesIO(b"%PDF-1.7 not an image")) is None


def test_a_thumbnail_image_stored_before_the_limit_was_lowered_shows_a_placeholder(
    client, settings
):
    """Not drawn at all (no rendition made): the thumbnail address is a 404, which the
    cards turn into the placeholder, and the asset page shows the placeholder."""
    asset = make_asset("Big cover", thumbnail_image=make_image("big"))  # 40×30 pixels
    settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40 * 30 - 1
    client.force_login(make_user(role=REP))

    thumbnail = client.get(f"/assets/{asset.pk}/thumbnail/")
    page = client.get(asset.url)

    assert thumbnail.status_code == 404
    assert not get_image_model().get_rendition_model().objects.exists()
    assert page.status_code == 200
    html = page.content.decode()
    assert '<span class="thumb-placeholder">' in html
    assert f"/assets/{asset.pk}/thumbnail/" not in html


def test_a_thumbnail_image_over_the_limit_gives_way_to_the_files_thumbnail(client, settings):
    document = make_document("spec-sheet.txt", b"spec sheet")
    thumbnail_name = default_storage.save(
        "thumbnails/spec-sheet.png", ContentFile(png_bytes("blue"))
    )
    type(document).objects.filter(pk=document.pk).update(thumbnail=thumbnail_name)
    document.refresh_from_db()
    asset = make_asset("Brief", document=document, thumbnail_image=make_image("big"))
    settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40 * 30 - 1
    client.force_login(make_user(role=REP))

    thumbnail = client.get(f"/assets/{asset.pk}/thumbnail/")

    assert thumbnail.status_code == 200
    document.thumbnail.open("rb")
    with document.thumbnail:
        assert b"".join(thumbnail.streaming_content) == document.thumbnail.read()
    assert not get_image_model().get_rendition_model().objects.exists()
