"""The admin reports: "Needs review" and the "Coverage matrix", with their exports."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from tests.factories import PASSWORD, make_asset, make_team, make_user

pytestmark = pytest.mark.django_db

COVERAGE = "/admin/governance/coverage/"
NEEDS_REVIEW = "/admin/governance/needs-review/"


def _login(client, role):
    user = make_user(role=role)
    assert client.login(username=user.username, password=PASSWORD)
    return user


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _cell_count(response, stage: str, pillar: str) -> int:
    for cell in response.context["object_list"]:
        if (cell.stage, cell.pillar) == (stage, pillar):
            return cell.live_assets
    raise AssertionError(f"no cell {stage} x {pillar}")


@pytest.fixture
def coverage_assets():
    make_asset("A", stages=["discover"], pillars=["why-buy"])
    make_asset("B", stages=["discover", "evaluate"], pillars=["why-buy"])
    make_asset("Restricted", stages=["evaluate"], pillars=["why-buy"], teams=[make_team("X")])
    make_asset("Archived", stages=["decide"], pillars=["why-buy-now"], archived=True)
    make_asset("Draft", stages=["decide"], pillars=["why-buy-now"], publish=False)


def test_coverage_matrix_counts_live_assets_per_cell(client, coverage_assets):
    _login(client, MARKETER)
    response = client.get(COVERAGE)
    assert response.status_code == 200
    assert _cell_count(response, "Discover", "Why Buy?") == 2
    assert _cell_count(response, "Evaluate", "Why Buy?") == 2  # restricted assets count too
    assert _cell_count(response, "Decide", "Why Buy Now?") == 0  # archived and draft do not
    assert len(response.context["object_list"]) == 12


def test_coverage_matrix_flags_empty_cells_visually_and_in_text(client, coverage_assets):
    _login(client, MARKETER)
    html = client.get(COVERAGE).content.decode()
    assert 'class="coverage-empty" data-stage="Decide" data-pillar="Why Buy Now?"' in html
    assert 'class="coverage-filled" data-stage="Discover" data-pillar="Why Buy?"' in html
    assert "Empty: no live assets" in html
    assert "10 of 12 cells have no live asset" in html
    assert "Decide × Why Buy Now?" in html


def test_coverage_cell_links_to_that_cells_assets(client, coverage_assets):
    _login(client, MARKETER)
    html = client.get(COVERAGE).content.decode()
    link = "/admin/governance/coverage/cell/?stage=evaluate&amp;pillar=why-buy"
    assert link in html
    response = client.get("/admin/governance/coverage/cell/?stage=evaluate&pillar=why-buy")
    assert response.status_code == 200
    assert {asset.title for asset in response.context["object_list"]} == {"B", "Restricted"}


def test_unknown_coverage_cell_is_404(client):
    _login(client, MARKETER)
    response = client.get("/admin/governance/coverage/cell/?stage=nope&pillar=why-buy")
    assert response.status_code == 404


def test_coverage_matrix_exports_one_csv_row_per_cell(client, coverage_assets):
    _login(client, ENABLEMENT_LEAD)
    response = client.get(COVERAGE + "?export=csv")
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert rows[0] == ["stage", "pillar", "live_assets", "notes"]
    assert len(rows) == 13
    assert ["Discover", "Why Buy?", "2", ""] in rows
    assert ["Decide", "Why Buy Now?", "0", ""] in rows


def test_coverage_matrix_exports_xlsx(client, coverage_assets):
    from openpyxl import load_workbook

    _login(client, ENABLEMENT_LEAD)
    response = client.get(COVERAGE + "?export=xlsx")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["stage", "pillar", "live_assets", "notes"]
    assert ["Discover", "Why Buy?", 2, None] in rows


def test_needs_review_lists_live_assets_past_their_review_date(client):
    owner = make_user("olga", first_name="Olga", last_name="Owner")
    make_asset("Stale", review_by=datetime.date(2020, 1, 1), owner=owner)
    make_asset("Fresh", review_by=datetime.date(2999, 1, 1))
    make_asset("Stale but archived", review_by=datetime.date(2020, 1, 1), archived=True)
    _login(client, MARKETER)
    response = client.get(NEEDS_REVIEW)
    assert response.status_code == 200
    assert [asset.title for asset in response.context["object_list"]] == ["Stale"]
    html = response.content.decode()
    assert "Olga Owner" in html
    assert "Jan. 1, 2020" in html or "2020-01-01" in html


def test_needs_review_exports_owner_and_review_date(client):
    owner = make_user("olga", first_name="Olga", last_name="Owner")
    make_asset("Stale", review_by=datetime.date(2020, 1, 1), owner=owner)
    _login(client, MARKETER)
    rows = _csv_rows(client.get(NEEDS_REVIEW + "?export=csv"))
    assert rows[0] == ["Asset", "Section", "Owner", "Review by", "Type"]
    assert rows[1] == ["Stale", "Library", "Olga Owner <olga@example.com>", "2020-01-01", "Deck"]


def test_needs_review_is_empty_when_everything_is_current(client):
    make_asset("Fresh", review_by=datetime.date(2999, 1, 1))
    _login(client, MARKETER)
    response = client.get(NEEDS_REVIEW)
    assert "No live asset is past its review date." in response.content.decode()


@pytest.mark.parametrize("url", [COVERAGE, COVERAGE + "?export=csv", NEEDS_REVIEW])
def test_rep_gets_no_report(client, url):
    make_asset("Stale", review_by=datetime.date(2020, 1, 1))
    _login(client, REP)
    response = client.get(url)
    assert response.status_code in (302, 403)
    assert b"Stale" not in response.content
    assert not getattr(response, "streaming", False)


def test_anonymous_visitor_gets_no_report(client):
    response = client.get(COVERAGE + "?export=csv")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_reports_menu_lists_governance_reports_for_content_managers(client):
    _login(client, MARKETER)
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Coverage matrix" in html
    assert "Needs review" in html


def test_admin_user_without_a_content_role_gets_no_report(client):
    from django.contrib.auth.models import Permission

    user = make_user()
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    assert client.login(username=user.username, password=PASSWORD)
    assert client.get(COVERAGE).status_code in (302, 403)
    assert not getattr(client.get(COVERAGE + "?export=csv"), "streaming", False)
