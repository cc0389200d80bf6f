"""What a marketer sees of document processing in the Wagtail admin, and who may see it."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Collection, GroupCollectionPermission

from cms.documents import processing_stuck_after
from cms.models import LibraryDocument
from tests.cms.builders import make_pdf
from tests.factories import make_document, make_user

pytestmark = pytest.mark.django_db
Status = LibraryDocument.Status
REPORT_URL = "/admin/reports/document-processing/"
_groups = itertools.count(1)


def root_collection() -> Collection:
    return Collection.get_first_root_node()


def admin_user(*, collection: Collection | None = None):
    """A user who may enter the Wagtail admin; with ``collection``, may add, edit and choose
    the documents in it (as the Marketer role may in the root collection). A group of its
    own, so that the permissions the role groups get after migrate do not interfere."""
    group = Group.objects.create(name=f"Admin users {next(_groups)}")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    if collection is not None:
        for codename in ("add_document", "change_document", "choose_document"):
            GroupCollectionPermission.objects.create(
                group=group,
                collection=collection,
                permission=Permission.objects.get(
                    codename=codename, content_type__app_label="wagtaildocs"
                ),
            )
    user = make_user()
    user.groups.add(group)
    return user


def document_with(
    title: str, status: str, error: str = "", collection: Collection | None = None
) -> LibraryDocument:
    document = make_document(f"{title}.pdf", make_pdf([title]), title=title)
    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=status,
        extraction_error=error,
        collection=collection or root_collection(),
    )
    return document


def test_marketer_sees_a_failed_document_with_the_reason_in_the_processing_report(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("Broken deck", Status.FAILED, "The PDF is damaged or incomplete.")
    document_with("Good deck", Status.DONE)

    page = client.get(REPORT_URL).content.decode()

    assert "Broken deck" in page and "Could not be processed" in page
    assert "The PDF is damaged or incomplete." in page
    assert "Good deck" in page and "Processed" in page


def test_report_filters_by_processing_status(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("Broken deck", Status.FAILED, "Damaged.")
    document_with("Good deck", Status.DONE)

    page = client.get(REPORT_URL, {"extraction_status": Status.FAILED}).content.decode()

    assert "Broken deck" in page and "Good deck" not in page


def test_report_is_listed_in_the_reports_menu_only_for_users_who_manage_documents(client):
    client.force_login(admin_user(collection=root_collection()))
    assert REPORT_URL in client.get("/admin/").content.decode()

    client.force_login(admin_user())
    assert REPORT_URL not in client.get("/admin/").content.decode()


def test_admin_user_without_document_permissions_cannot_open_the_report(client):
    document_with("Secret pricing", Status.FAILED, "Damaged.")
    client.force_login(admin_user())

    response = client.get(REPORT_URL, follow=True)

    assert "Secret pricing" not in response.content.decode()
    assert "permission" in response.content.decode().lower()


def test_marketer_sees_only_documents_in_collections_they_manage(client):
    marketing = root_collection().add_child(name="Marketing")
    legal = root_collection().add_child(name="Legal")
    client.force_login(admin_user(collection=marketing))
    document_with("Campaign brief", Status.FAILED, "Damaged.", collection=marketing)
    document_with("Contract template", Status.FAILED, "Damaged.", collection=legal)

    page = client.get(REPORT_URL).content.decode()

    assert "Campaign brief" in page and "Contract template" not in page


def test_dashboard_warns_the_marketer_about_documents_that_failed(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("Broken deck", Status.FAILED, "The PDF is protected by a password.")
    document_with("Good deck", Status.DONE)

    page = client.get("/admin/").content.decode()

    assert "Documents that could not be processed" in page
    assert "Broken deck" in page and "The PDF is protected by a password." in page
    assert "Good deck" not in page


def test_dashboard_shows_no_warning_when_every_document_was_processed(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("Good deck", Status.DONE)

    assert "Documents that could not be processed" not in client.get("/admin/").content.decode()


def test_process_again_reprocesses_a_failed_document(client, django_capture_on_commit_callbacks):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Timed out deck", Status.FAILED, "Processing took too long.")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cms_document_reprocess", args=[document.pk]))

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.extraction_status == Status.DONE
    assert document.extraction_error == ""
    assert "Timed out deck" in document.extracted_text


def test_process_again_is_refused_without_permission_on_the_documents_collection(client):
    legal = root_collection().add_child(name="Legal")
    marketing = root_collection().add_child(name="Marketing")
    client.force_login(admin_user(collection=marketing))
    document = document_with("Contract", Status.FAILED, "Damaged.", collection=legal)

    response = client.post(reverse("cms_document_reprocess", args=[document.pk]), follow=True)

    assert "you do not have permission" in response.content.decode()
    document.refresh_from_db()
    assert document.extraction_status == Status.FAILED


def test_process_again_only_accepts_post(client):
    client.force_login(admin_user(collection=root_collection()))
    document = document_with("Deck", Status.FAILED, "Damaged.")

    assert client.get(reverse("cms_document_reprocess", args=[document.pk])).status_code == 405


def pending_since(title: str, ago: timedelta) -> LibraryDocument:
    """A document pending since ``ago``, as when its worker was killed mid-file."""
    document = document_with(title, Status.PENDING)
    LibraryDocument.objects.filter(pk=document.pk).update(queued_at=timezone.now() - ago)
    return document


def test_a_document_stuck_pending_is_shown_as_such_and_can_be_processed_again(
    client, django_capture_on_commit_callbacks
):
    client.force_login(admin_user(collection=root_collection()))
    document = pending_since("Scanned deck", processing_stuck_after() + timedelta(minutes=1))

    page = client.get(REPORT_URL).content.decode()
    assert "no progress since" in page and "Process again" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cms_document_reprocess", args=[document.pk]))

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.extraction_status == Status.DONE
    assert "Scanned deck" in document.extracted_text


def test_a_document_pending_for_a_few_seconds_cannot_be_processed_again(
    client, django_capture_on_commit_callbacks
):
    client.force_login(admin_user(collection=root_collection()))
    document = pending_since("Fresh deck", timedelta(seconds=5))

    page = client.get(REPORT_URL).content.decode()
    assert "Fresh deck" in page
    assert "no progress since" not in page and "Process again" not in page

    with django_capture_on_commit_callbacks(execute=True) as scheduled:
        response = client.post(reverse("cms_document_reprocess", args=[document.pk]), follow=True)

    assert "still being processed" in response.content.decode()
    assert scheduled == []
    document.refresh_from_db()
    assert document.extraction_status == Status.PENDING


def test_titles_and_reasons_are_escaped_in_the_report_and_dashboard(client):
    client.force_login(admin_user(collection=root_collection()))
    document_with("<script>alert(1)</script>", Status.FAILED, "<img src=x onerror=alert(2)>")

    for url in (REPORT_URL, "/admin/"):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x onerror=alert(2)>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
