"""Issue 2 in a real browser: a marketer creates an asset with a PDF in the Wagtail admin and
submits it, an enablement lead approves it, a rep browses to it by stage and pillar and
downloads it, and the coverage matrix counts it in its cell."""

from __future__ import annotations

import pytest
from reportlab.pdfgen import canvas

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from cms.models import AssetPage
from cms.services import roles_ensure
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Freight payback calculator"
PDF_PHRASE = "Quantified payback in nine weeks for logistics teams"


@pytest.fixture
def people():
    roles_ensure()
    return {
        "marketer": make_user("mara", role=MARKETER),
        "lead": make_user("leo", role=ENABLEMENT_LEAD),
        "rep": make_user("rita", role=REP),
    }


@pytest.fixture
def pdf_path(tmp_path):
    path = tmp_path / "freight-payback.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 720, PDF_PHRASE)
    pdf.showPage()
    pdf.save()
    return path


def _marketer_uploads_and_submits(page, pdf_path):
    page.goto("/admin/documents/add/")
    page.set_input_files("form[enctype] input[name=file]", str(pdf_path))
    page.fill("form[enctype] input[name=title]", "Freight payback PDF")
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/admin/documents/**")

    page.goto(f"/admin/pages/add/cms/assetpage/{_library_id()}/")
    page.fill("#id_title", TITLE)
    page.press("#id_title", "Tab")
    page.fill("#id_summary", "Payback model for logistics buyers")
    page.locator("#id_document-chooser").get_by_role("button", name="Choose a document").click()
    page.locator(".modal-dialog a", has_text="Freight payback PDF").first.click()
    page.wait_for_selector(".modal-dialog", state="hidden")
    page.get_by_role("button", name="Choose asset type").click()
    page.locator(".modal-dialog a", has_text="One-pager").first.click()
    page.wait_for_selector(".modal-dialog", state="hidden")
    page.get_by_label("Decide").check()
    page.get_by_label("Why Buy Now?").check()
    page.get_by_role("button", name="More actions").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit to Marketing review").click()


def _library_id() -> int:
    from cms.models import LibraryPage

    return LibraryPage.objects.get(depth=2).id


def test_marketer_publishes_rep_finds_and_downloads_matrix_counts_it(
    page, chromium, live_server, people, pdf_path
):
    login(page, "mara", PASSWORD)
    _marketer_uploads_and_submits(page, pdf_path)
    asset = AssetPage.objects.get(title=TITLE)
    assert not asset.live, "a marketer's submission must wait for approval"

    lead_context = chromium.new_context(base_url=live_server.url)
    lead = lead_context.new_page()
    login(lead, "leo", PASSWORD)
    lead.goto("/admin/")
    row = lead.locator("tr", has_text=TITLE)
    row.get_by_role("button", name="Actions").click()
    with lead.expect_navigation():
        row.get_by_role("button", name="Approve", exact=True).click()
    asset.refresh_from_db()
    assert asset.live, "approval by the enablement lead publishes the asset"

    rep_context = chromium.new_context(base_url=live_server.url)
    rep = rep_context.new_page()
    login(rep, "rita", PASSWORD)
    rep.goto("/home/")
    cell = rep.locator("table.coverage-grid td[data-stage=decide][data-pillar=why-buy-now]")
    assert cell.get_attribute("data-count") == "1"
    with rep.expect_navigation():
        cell.locator("a").click()
    with rep.expect_navigation():
        rep.get_by_role("link", name=TITLE).first.click()
    assert rep.locator("h1").inner_text() == TITLE
    with rep.expect_download() as download_info:
        rep.get_by_role("link", name="Download").click()
    downloaded = download_info.value
    assert downloaded.suggested_filename.endswith(".pdf")
    assert open(downloaded.path(), "rb").read() == pdf_path.read_bytes()

    lead.goto("/admin/governance/coverage/")
    matrix_cell = lead.locator(
        "table.coverage-matrix td[data-stage=Decide][data-pillar='Why Buy Now?']"
    )
    assert matrix_cell.inner_text().strip() == "1 live asset"
    empty = lead.locator("table.coverage-matrix td.coverage-empty")
    assert empty.count() == 11
    lead_context.close()
    rep_context.close()
