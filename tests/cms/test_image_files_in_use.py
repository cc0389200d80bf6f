"""The thumbnail image of an asset changes only through the asset, as its document does
(``test_document_files_in_use``; an outside audit: a marketer replaced the thumbnail of a
live asset in Wagtail's image admin, and reps' cards changed with no approval). Administrators
still may; images no asset uses stay the marketers' to replace and delete."""

from __future__ import annotations

import io
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.models import Collection

from accounts.roles import ADMIN, MARKETER, REP
from tests.factories import make_asset, make_image, make_user, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_renditions_cached")]
Image = get_image_model()

RED, BLUE = (255, 0, 0), (0, 0, 255)
LOCKED = (
    "“Cover” is the thumbnail of “Pricing deck”; upload the new image and choose it on that "
    "asset, so the change is approved and kept in its history."
)


@pytest.fixture
def asset():
    """A live asset with a red thumbnail, both made by someone else."""
    return make_asset(
        "Pricing deck", thumbnail_image=make_image("Cover"), owner=make_user(role=MARKETER)
    )


def signed_in(client, role: str | None = None, **fields):
    client.force_login(make_user(role=role, **fields))
    return client


def replace_file(client, image):
    return client.post(
        reverse("wagtailimages:edit", args=[image.pk]),
        {
            "title": image.title,
            "file": SimpleUploadedFile("new.png", png_bytes("blue"), content_type="image/png"),
            "collection": Collection.get_first_root_node().pk,
        },
    )


def thumbnail_seen_by_rep(client, asset) -> tuple[int, int, int]:
    """The colour of the thumbnail a rep's card shows for ``asset``."""
    client.force_login(make_user(role=REP))
    response = client.get(f"/assets/{asset.pk}/thumbnail/")
    assert response.status_code == 200
    served = PILImage.open(io.BytesIO(b"".join(response.streaming_content)))
    return served.convert("RGB").getpixel((1, 1))


def publish_change(asset, **fields):
    """Publish a new revision of ``asset`` with ``fields`` changed (as an approval would)."""
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.save_revision().publish()
    asset.refresh_from_db()


def test_marketer_cannot_replace_the_thumbnail_of_a_live_asset(client, asset):
    image = asset.thumbnail_image

    response = replace_file(signed_in(client, MARKETER), image)

    assert response.status_code == 200  # the form again, with the reason
    assert LOCKED in response.content.decode()
    stored = Image.objects.get(pk=image.pk)
    assert stored.file.name == image.file.name
    assert stored.file.storage.exists(image.file.name)
    assert thumbnail_seen_by_rep(client, asset) == RED


def test_the_edit_page_tells_a_marketer_why_the_image_cannot_be_replaced_and_offers_no_delete(
    client, asset
):
    page = signed_in(client, MARKETER).get(
        reverse("wagtailimages:edit", args=[asset.thumbnail_image_id])
    )

    content = page.content.decode()
    assert LOCKED in content
    assert reverse("wagtailimages:delete", args=[asset.thumbnail_image_id]) not in content


def test_the_thumbnail_chosen_in_a_draft_awaiting_approval_is_locked_too(client, asset):
    draft_image = make_image("Cover 2026", color="green")
    asset.thumbnail_image = draft_image
    asset.save_revision()  # a draft: the live page still shows the first thumbnail

    response = replace_file(signed_in(client, MARKETER), draft_image)

    assert "is the thumbnail of “Pricing deck”" in response.content.decode()
    assert Image.objects.get(pk=draft_image.pk).file.name == draft_image.file.name


def test_the_thumbnail_of_an_earlier_revision_can_be_neither_replaced_nor_deleted(client, asset):
    earlier = asset.thumbnail_image
    publish_change(asset, thumbnail_image=make_image("Cover 2026", color="green"))
    client = signed_in(client, MARKETER)

    response = replace_file(client, earlier)
    client.post(reverse("wagtailimages:delete", args=[earlier.pk]))

    assert (
        "“Cover” is the thumbnail of a previous revision of “Pricing deck”, kept so that the "
        "asset can be reverted to it; to change the asset's thumbnail, upload the new image"
    ) in unescape(response.content.decode())
    stored = Image.objects.get(pk=earlier.pk)
    assert stored.file.name == earlier.file.name


def test_marketer_cannot_delete_the_thumbnail_of_a_live_asset(client, asset):
    client = signed_in(client, MARKETER)
    url = reverse("wagtailimages:delete", args=[asset.thumbnail_image_id])

    assert client.get(url).status_code == 302  # Wagtail's "no permission" redirect
    client.post(url)

    assert Image.objects.filter(pk=asset.thumbnail_image_id).exists()
    assert thumbnail_seen_by_rep(client, asset) == RED


def test_marketer_cannot_bulk_delete_the_thumbnail_of_a_live_asset(client, asset):
    unused = make_image("Old banner")
    client = signed_in(client, MARKETER)
    url = reverse("wagtail_bulk_action", args=["wagtailimages", "image", "delete"])
    url += f"?id={asset.thumbnail_image_id}&id={unused.pk}"

    confirm = client.get(url).content.decode()
    client.post(url)

    assert "You don't have permission to delete this image" in unescape(confirm)
    assert Image.objects.filter(pk=asset.thumbnail_image_id).exists()
    assert not Image.objects.filter(pk=unused.pk).exists()


def test_marketer_cannot_delete_the_thumbnail_of_a_live_asset_from_the_multiple_uploader(
    client, asset
):
    response = signed_in(client, MARKETER).post(
        reverse("wagtailimages:delete_multiple", args=[asset.thumbnail_image_id]),
        headers={"x-requested-with": "XMLHttpRequest"},
    )

    assert response.status_code == 403
    assert Image.objects.filter(pk=asset.thumbnail_image_id).exists()


def test_administrator_can_still_replace_and_delete_the_thumbnail_of_a_live_asset(client, asset):
    client = signed_in(client, is_superuser=True)

    response = replace_file(client, asset.thumbnail_image)

    assert response.status_code == 302
    assert thumbnail_seen_by_rep(client, asset) == BLUE
    client.force_login(make_user(role=ADMIN))  # the Admin role, not only superusers
    client.post(reverse("wagtailimages:delete", args=[asset.thumbnail_image_id]))
    assert not Image.objects.filter(pk=asset.thumbnail_image_id).exists()


def test_marketer_still_edits_the_title_of_the_thumbnail_of_a_live_asset(client, asset):
    response = signed_in(client, MARKETER).post(
        reverse("wagtailimages:edit", args=[asset.thumbnail_image_id]),
        {"title": "Cover (EMEA)", "collection": Collection.get_first_root_node().pk},
    )

    assert response.status_code == 302
    assert Image.objects.get(pk=asset.thumbnail_image_id).title == "Cover (EMEA)"


def test_marketer_still_uploads_replaces_and_deletes_images_no_asset_uses(client):
    client = signed_in(client, MARKETER)
    root = Collection.get_first_root_node().pk
    added = client.post(
        reverse("wagtailimages:add"),
        {"title": "Banner", "file": SimpleUploadedFile("b.png", png_bytes()), "collection": root},
    )
    assert added.status_code == 302
    image = Image.objects.get(title="Banner")

    assert replace_file(client, image).status_code == 302
    image.refresh_from_db()
    with image.open_file() as picture:
        assert PILImage.open(picture).convert("RGB").getpixel((1, 1)) == BLUE
    client.post(reverse("wagtailimages:delete", args=[image.pk]))
    assert not Image.objects.filter(pk=image.pk).exists()
