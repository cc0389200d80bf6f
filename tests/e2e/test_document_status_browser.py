"""A marketer sees a document's processing failure where they work: on the document's edit
page ("Process again" there brings them back to it, processed) and in the editor of an asset
that uses it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.roles import MARKETER
from cms.models import LibraryDocument
from cms.services import roles_ensure
from tests.cms.builders import make_pdf
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_asset, make_document, make_user

pytestmark = pytest.mark.django_db(transaction=True)
Status = LibraryDocument.Status


@pytest.fixture
def failed_document():
    roles_ensure()
    make_user("mara", role=MARKETER)
    document = make_document("pitch.pdf", make_pdf(["Why buy now"]), title="Pitch deck")
    LibraryDocument.objects.filter(pk=document.pk).update(
        extraction_status=Status.FAILED, extraction_error="Processing took too long."
    )
    return document


def test_process_again_on_the_edit_page_comes_back_to_it_processed(page, failed_document):
    login(page, "mara", PASSWORD)
    edit = f"/admin/documents/edit/{failed_document.pk}/"
    page.goto(edit)
    status = page.locator(".document-processing-status")
    expect(status).to_contain_text("Could not be processed.")
    expect(status).to_contain_text("Processing took too long.")

    status.get_by_role("button", name="Process again").click()

    page.wait_for_url(f"**{edit}")
    expect(page.get_by_text("“Pitch deck” is being processed again.")).to_be_visible()
    expect(page.locator(".document-processing-status")).to_contain_text("Processed.")


def test_the_asset_editor_warns_of_the_failed_document(page, failed_document):
    asset = make_asset("Pricing pitch", document=failed_document)
    login(page, "mara", PASSWORD)

    page.goto(f"/admin/pages/{asset.pk}/edit/")

    warning = page.locator(".document-processing-status")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("The file “Pitch deck”: Could not be processed.")
    expect(warning).to_contain_text("Reps cannot search its text")
