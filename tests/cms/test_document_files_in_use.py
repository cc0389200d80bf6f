"""The file of a document an asset uses changes only through the asset (an outside audit: a
marketer replaced or deleted the file of any live asset in Wagtail's document admin, with no
approval, no history and no way back; a second audit: the file of an earlier revision could
be deleted, so reverting to it brought back no file). Administrators still may; documents no
asset uses stay the marketers' to replace and delete."""

from __future__ import annotations

from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.models import Collection

from accounts.roles import ADMIN, MARKETER, REP
from cms.models import LibraryDocument
from cms.selectors import documents_assets
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

ORIGINAL = b"Original pricing words"
NEW = b"Replacement pricing words"
LOCKED = (
    "“Pricing sheet” is the file of “Pricing deck”; upload the new file and choose it on "
    "that asset, so the change is approved and kept in its history."
)


@pytest.fixture
def asset():
    """A live asset owned by someone else, its file uploaded by someone else."""
    document = make_document("pricing.txt", ORIGINAL, title="Pricing sheet")
    return make_asset("Pricing deck", document=document, owner=make_user(role=MARKETER))


def signed_in(client, role: str | None = None, **fields):
    client.force_login(make_user(role=role, **fields))
    return client


def replace_file(client, document: LibraryDocument):
    return client.post(
        reverse("wagtaildocs:edit", args=[document.pk]),
        {
            "title": document.title,
            "file": SimpleUploadedFile("new.txt", NEW),
            "collection": Collection.get_first_root_node().pk,
        },
    )


def downloaded_by_rep(client, asset) -> bytes | None:
    """What a rep gets from the asset's download link (None: no file)."""
    client.force_login(make_user(role=REP))
    response = client.get(f"/assets/{asset.pk}/download/")
    if response.status_code == 404:
        return None
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_marketer_cannot_replace_the_file_of_a_live_assets_document(client, asset):
    document = asset.document

    response = replace_file(signed_in(client, MARKETER), document)

    assert response.status_code == 200  # the form again, with the reason
    assert LOCKED in response.content.decode()
    stored = LibraryDocument.objects.get(pk=document.pk)
    assert stored.file.name == document.file.name
    assert stored.file.storage.exists(document.file.name)
    assert downloaded_by_rep(client, asset) == ORIGINAL


def test_the_edit_page_tells_a_marketer_why_the_file_cannot_be_replaced_and_offers_no_delete(
    client, asset
):
    page = signed_in(client, MARKETER).get(reverse("wagtaildocs:edit", args=[asset.document_id]))

    html = page.content.decode()
    assert LOCKED in html
    assert reverse("wagtaildocs:delete", args=[asset.document_id]) not in html


def test_the_file_of_a_document_chosen_in_a_draft_awaiting_approval_is_locked_too(client, asset):
    draft_document = make_document("pricing-2026.txt", NEW, title="Pricing sheet 2026")
    asset.document = draft_document
    asset.save_revision()  # a draft: the live page still serves the first document

    response = replace_file(signed_in(client, MARKETER), draft_document)

    assert "is the file of “Pricing deck”" in response.content.decode()
    assert LibraryDocument.objects.get(pk=draft_document.pk).file.name == draft_document.file.name


def test_marketer_cannot_delete_a_live_assets_document(client, asset):
    client = signed_in(client, MARKETER)
    url = reverse("wagtaildocs:delete", args=[asset.document_id])

    assert client.get(url).status_code == 302  # Wagtail's "no permission" redirect
    client.post(url)

    assert LibraryDocument.objects.filter(pk=asset.document_id).exists()
    assert downloaded_by_rep(client, asset) == ORIGINAL


def test_marketer_cannot_delete_a_transcript_an_asset_uses(client):
    transcript = make_document("captions.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    make_asset("Demo video", external_url="https://example.com/v", transcript=transcript)

    signed_in(client, MARKETER).post(reverse("wagtaildocs:delete", args=[transcript.pk]))

    assert LibraryDocument.objects.filter(pk=transcript.pk).exists()


def test_marketer_cannot_bulk_delete_a_live_assets_document(client, asset):
    unused = make_document("old.txt", b"Old words", title="Unused sheet")
    client = signed_in(client, MARKETER)
    url = reverse("wagtail_bulk_action", args=["cms", "librarydocument", "delete"])
    url += f"?id={asset.document_id}&id={unused.pk}"

    confirm = client.get(url).content.decode()
    client.post(url)

    assert "You don't have permission to delete this document" in confirm
    assert LibraryDocument.objects.filter(pk=asset.document_id).exists()
    assert not LibraryDocument.objects.filter(pk=unused.pk).exists()
    assert downloaded_by_rep(client, asset) == ORIGINAL


def test_marketer_cannot_delete_a_live_assets_document_from_the_multiple_uploader(client, asset):
    client = signed_in(client, MARKETER)
    response = client.post(
        reverse("wagtaildocs:delete_multiple", args=[asset.document_id]),
        headers={"x-requested-with": "XMLHttpRequest"},
    )

    assert response.status_code == 403
    assert LibraryDocument.objects.filter(pk=asset.document_id).exists()


def test_administrator_can_still_replace_and_delete_a_live_assets_document(client, asset):
    client = signed_in(client, is_superuser=True)

    response = replace_file(client, asset.document)

    assert response.status_code == 302
    assert downloaded_by_rep(client, asset) == NEW
    client.force_login(make_user(role=ADMIN))  # the Admin role, not only superusers
    client.post(reverse("wagtaildocs:delete", args=[asset.document_id]))
    assert not LibraryDocument.objects.filter(pk=asset.document_id).exists()


def test_marketer_still_edits_the_title_of_a_live_assets_document(client, asset):
    client = signed_in(client, MARKETER)
    response = client.post(
        reverse("wagtaildocs:edit", args=[asset.document_id]),
        {"title": "Pricing sheet (EMEA)", "collection": Collection.get_first_root_node().pk},
    )

    assert response.status_code == 302
    assert LibraryDocument.objects.get(pk=asset.document_id).title == "Pricing sheet (EMEA)"


def test_marketer_still_uploads_replaces_and_deletes_documents_no_asset_uses(client):
    client = signed_in(client, MARKETER)
    root = Collection.get_first_root_node().pk
    added = client.post(
        reverse("wagtaildocs:add"),
        {"title": "Draft sheet", "file": SimpleUploadedFile("d.txt", ORIGINAL), "collection": root},
    )
    assert added.status_code == 302
    document = LibraryDocument.objects.get(title="Draft sheet")

    assert replace_file(client, document).status_code == 302
    document.refresh_from_db()
    assert document.file.read() == NEW
    client.post(reverse("wagtaildocs:delete", args=[document.pk]))
    assert not LibraryDocument.objects.filter(pk=document.pk).exists()


# --- Earlier revisions: the history an asset can be reverted to ---------------------------


def publish_change(asset, **fields):
    """Publish a new revision of ``asset`` with ``fields`` changed (as an approval would)."""
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.save_revision().publish()
    asset.refresh_from_db()


def first_revision(asset):
    return asset.revisions.order_by("created_at", "pk").first()


def test_marketer_cannot_delete_the_file_of_an_earlier_revision_so_reverting_brings_it_back(
    client, asset
):
    earlier = asset.document
    publish_change(asset, document=make_document("pricing-2026.txt", NEW, title="New sheet"))
    client = signed_in(client, MARKETER)

    client.post(reverse("wagtaildocs:delete", args=[earlier.pk]))

    assert LibraryDocument.objects.filter(pk=earlier.pk).exists()
    revert = reverse(
        "wagtailadmin_pages:revisions_revert", args=[asset.pk, first_revision(asset).pk]
    )
    chosen = 'id="id_document-title">Pricing sheet</div>'  # the editor's Document field
    assert chosen in client.get(revert).content.decode()


def test_replacing_the_file_of_an_earlier_revision_is_refused_saying_so(client, asset):
    earlier = asset.document
    publish_change(asset, document=make_document("pricing-2026.txt", NEW, title="New sheet"))

    response = replace_file(signed_in(client, MARKETER), earlier)

    assert (
        "“Pricing sheet” is the file of a previous revision of “Pricing deck”, kept so that "
        "the asset can be reverted to it; to change the asset's file, upload the new file"
    ) in unescape(response.content.decode())
    assert LibraryDocument.objects.get(pk=earlier.pk).file.name == earlier.file.name


def test_marketer_cannot_bulk_delete_the_transcript_of_an_earlier_revision(client):
    transcript = make_document("captions.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    video = make_asset("Demo video", external_url="https://example.com/v", transcript=transcript)
    publish_change(video, transcript=None)
    client = signed_in(client, MARKETER)
    url = reverse("wagtail_bulk_action", args=["cms", "librarydocument", "delete"])

    client.post(f"{url}?id={transcript.pk}")

    assert LibraryDocument.objects.filter(pk=transcript.pk).exists()


def test_the_documents_of_a_deleted_asset_are_no_longer_locked(client, asset):
    earlier = asset.document
    publish_change(asset, document=make_document("pricing-2026.txt", NEW, title="New sheet"))
    asset.delete()

    signed_in(client, MARKETER).post(reverse("wagtaildocs:delete", args=[earlier.pk]))

    assert not LibraryDocument.objects.filter(pk=earlier.pk).exists()


def test_documents_assets_reads_any_number_of_documents_in_two_queries(
    asset, django_assert_num_queries
):
    documents = [asset.document]
    for number in range(3):
        document = make_document(f"v{number}.txt", NEW, title=f"Version {number}")
        other = make_asset(f"Deck {number}", document=document)
        publish_change(other, document=make_document(f"w{number}.txt", NEW))
        documents += [document, other.document]
    ids = [document.pk for document in documents]
    documents_assets(ids)  # the content type of asset pages is cached once per process

    with django_assert_num_queries(2):
        found = documents_assets(ids)

    assert {pk: use.previous for pk, use in found.items()} == {
        documents[0].pk: False,
        **{document.pk: True for document in documents[1::2]},
        **{document.pk: False for document in documents[2::2]},
    }
