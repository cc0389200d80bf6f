"""A document's processing status where the marketer works: its edit page (with "Process
again", answering back to that page) and the asset editor's "File or link" panel."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import reverse
from wagtail.models import GroupCollectionPermission

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from cms.models import LibraryDocument
from tests.cms.test_document_admin import admin_user, document_with, root_collection
from tests.factories import make_asset, make_user

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


# --- The asset editor: the chosen document's status in "File or link" ---------------------


def page_edit_url(asset) -> str:
    return reverse("wagtailadmin_pages:edit", args=[asset.pk])


def test_the_asset_editor_warns_that_the_chosen_document_could_not_be_processed(client):
    marketer = make_user(role=MARKETER)
    client.force_login(marketer)
    document = document_with("Encrypted deck", Status.FAILED, "The PDF could not be decrypted.")
    asset = make_asset("Pricing deck", document=document)

    page = client.get(page_edit_url(asset)).content.decode()

    assert "The file “Encrypted deck”: Could not be processed." in page
    assert "The PDF could not be decrypted." in page
    assert "Reps cannot search its text" in page
    assert "Process again" in page  # the Marketer role may change documents in the root


def test_the_asset_editor_says_nothing_of_a_document_processed_without_notes(client):
    client.force_login(make_user(role=MARKETER))
    asset = make_asset("Pricing deck", document=document_with("Good deck", Status.DONE))

    page = client.get(page_edit_url(asset)).content.decode()

    assert "document-processing-status" not in page
    assert "Reps cannot search its text" not in page


def test_the_asset_editor_warns_but_offers_no_process_again_without_document_permission(client):
    legal = root_collection().add_child(name="Legal")
    editor = admin_user(collection=root_collection().add_child(name="Marketing"))
    editor.groups.add(Group.objects.get(name=MARKETER))  # may edit pages, not Legal's files
    GroupCollectionPermission.objects.filter(group__name=MARKETER).delete()
    client.force_login(editor)
    document = document_with("Contract", Status.FAILED, "Damaged.", collection=legal)
    asset = make_asset("Contract deck", document=document)

    page = client.get(page_edit_url(asset)).content.decode()

    assert "The file “Contract”: Could not be processed." in page
    assert "Process again" not in page
    assert reverse("cms_document_reprocess", args=[document.pk]) not in page


def test_a_rep_cannot_open_the_asset_editor_to_read_the_status(client):
    client.force_login(make_user(role=REP))
    document = document_with("Encrypted deck", Status.FAILED, "Secret reason.")
    asset = make_asset("Pricing deck", document=document)

    response = client.get(page_edit_url(asset), follow=True)

    assert "Secret reason." not in response.content.decode()


def test_the_asset_editor_escapes_the_documents_title_and_reason(client):
    client.force_login(make_user(role=MARKETER))
    document = document_with("<b>x</b>", Status.FAILED, "<img src=x onerror=alert(2)>")
    asset = make_asset("Pricing deck", document=document)

    page = client.get(page_edit_url(asset)).content.decode()

    assert "<img src=x onerror=alert(2)>" not in page and "<b>x</b>" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


# --- The reviewers' "submitted for approval" mail ------------------------------------------


def submit_for_moderation(document, mailoutbox):
    marketer = make_user(role=MARKETER)
    lead = make_user("lea", role=ENABLEMENT_LEAD)
    page = make_asset("Pricing one-pager", publish=False, document=document)
    page.save_revision(user=marketer)
    mailoutbox.clear()
    page.get_workflow().start(page, marketer)
    return [m for m in mailoutbox if lead.email in m.to and "submitted" in m.subject.lower()]


def test_the_reviewers_mail_says_the_pages_file_could_not_be_read_and_why(mailoutbox):
    document = document_with("Locked deck", Status.PROTECTED, "The PDF is protected by a password.")

    (mail,) = submit_for_moderation(document, mailoutbox)

    assert (
        "Its file “Locked deck”: Protected by a password. The PDF is protected by a password. "
        "Reps cannot search its text" in mail.body
    )


def test_the_reviewers_mail_says_a_file_is_still_being_read(mailoutbox):
    (mail,) = submit_for_moderation(document_with("New deck", Status.PENDING), mailoutbox)

    assert "Its file “New deck” is still being read" in mail.body


def test_the_reviewers_mail_says_nothing_of_a_file_that_was_read(mailoutbox):
    (mail,) = submit_for_moderation(document_with("Good deck", Status.DONE), mailoutbox)

    assert "Its file" not in mail.body


@override_settings(WAGTAILADMIN_NOTIFICATION_USE_HTML=True)
def test_the_reviewers_html_mail_escapes_the_reason(mailoutbox):
    document = document_with("Deck", Status.FAILED, "<img src=x onerror=alert(2)>")

    (mail,) = submit_for_moderation(document, mailoutbox)

    (html, _) = mail.alternatives[0]
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "<img src=x" not in html


# --- The documents listing ---------------------------------------------------------------


def test_the_documents_listing_names_the_listed_documents_that_could_not_be_processed(client):
    marketing = root_collection().add_child(name="Marketing")
    legal = root_collection().add_child(name="Legal")
    client.force_login(admin_user(collection=marketing))
    broken = document_with("Broken deck", Status.FAILED, "The PDF is damaged.", marketing)
    document_with("Locked deck", Status.PROTECTED, "Password.", marketing)
    document_with("Fresh deck", Status.PENDING, collection=marketing)
    document_with("Good deck", Status.DONE, collection=marketing)
    document_with("Contract", Status.FAILED, "Legal secret reason.", legal)

    page = client.get(reverse("wagtaildocs:index")).content.decode()

    assert "These 2 documents could not be processed" in page
    assert f'<a href="{edit_url(broken)}">Broken deck</a>: Could not be processed' in page
    assert "The PDF is damaged." in page and "Protected by a password" in page
    assert "One document here is still being processed." in page
    assert "Legal secret reason." not in page


def test_the_documents_listing_says_nothing_when_every_document_was_processed(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("Good deck", Status.DONE)

    page = client.get(reverse("wagtaildocs:index")).content.decode()

    assert "documents-processing-notice" not in page
