"""A document's processing status where the marketer works: its edit page (with "Process
again", answering back to that page) and the asset editor's "File or link" panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cms.models import LibraryDocument
from tests.cms.test_document_admin import admin_user, document_with, root_collection

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status


def edit_url(document) -> str:
    return reverse("wagtaildocs:edit", args=[document.pk])


def test_the_edit_page_of_a_failed_document_says_it_could_not_be_processed_and_why(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Locked deck", Status.FAILED, "The PDF is damaged or incomplete.")

    page = client.get(edit_url(document)).content.decode()

    assert "Could not be processed." in page
    assert "The PDF is damaged or incomplete." in page
    assert "Reps cannot search its text" in page
    assert reverse("cms_document_reprocess", args=[document.pk]) in page
    assert "Process again" in page


def test_the_edit_page_of_a_protected_document_says_so(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Secret deck", Status.PROTECTED, "The PDF is protected by a password.")

    page = client.get(edit_url(document)).content.decode()

    assert "Protected by a password." in page and "Reps cannot search its text" in page


def test_the_edit_page_of_a_document_being_processed_says_so_without_process_again(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Fresh deck", Status.PENDING)

    page = client.get(edit_url(document)).content.decode()

    assert "Processing." in page and "becomes searchable once it is read" in page
    assert "Process again" not in page


def test_the_edit_page_shows_processing_notes(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Scan", Status.DONE, "No text layer: this PDF looks scanned.")

    page = client.get(edit_url(document)).content.decode()

    assert "Processed with notes." in page
    assert "No text layer: this PDF looks scanned." in page
    assert "Reps cannot search its text" not in page


def test_process_again_on_the_edit_page_comes_back_to_it(
    client, django_capture_on_commit_callbacks
):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Timed out deck", Status.FAILED, "Processing took too long.")
    url = reverse("cms_document_reprocess", args=[document.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"next": edit_url(document)})

    assert response.status_code == 302 and response["Location"] == edit_url(document)
    page = client.get(response["Location"]).content.decode()
    assert "is being processed again" in page
    assert "Processed." in page and "Could not be processed" not in page


def test_process_again_does_not_send_the_user_to_another_site(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Deck", Status.FAILED, "Damaged.")
    url = reverse("cms_document_reprocess", args=[document.pk])

    response = client.post(url, {"next": "https://evil.example/"})

    assert response["Location"] == reverse("cms_document_processing")


def test_a_user_who_may_not_edit_the_document_does_not_see_its_edit_page(client):
    legal = root_collection().add_child(name="Legal")
    marketing = root_collection().add_child(name="Marketing")
    client.force_login(admin_user(collection=marketing))
    document = document_with("Contract", Status.FAILED, "Secret reason.", collection=legal)

    response = client.get(edit_url(document), follow=True)

    assert "Secret reason." not in response.content.decode()


def test_title_and_reason_are_escaped_on_the_edit_page(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Deck", Status.FAILED, "<img src=x onerror=alert(2)>")

    page = client.get(edit_url(document)).content.decode()

    assert "<img src=x onerror=alert(2)>" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
