"""What each role may do in Wagtail's admin: reach it, edit library pages, publish them, and
move an asset through the "Marketing review" workflow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.models import PagePermissionTester

from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER, REP
from cms.services import MODERATION_WORKFLOW
from tests.factories import PASSWORD, library_root, make_asset, make_section, make_user

pytestmark = pytest.mark.django_db


def _client_for(client, role):
    user = make_user(role=role)
    assert client.login(username=user.username, password=PASSWORD)
    return client, user


def _admin_dashboard_shown(response) -> bool:
    return response.status_code == 200 and b"wagtail" in response.content.lower()


@pytest.mark.parametrize("role", [MARKETER, ENABLEMENT_LEAD, ADMIN])
def test_content_roles_reach_the_admin(client, role):
    client, _ = _client_for(client, role)
    assert _admin_dashboard_shown(client.get(reverse("wagtailadmin_home")))


def test_rep_cannot_reach_the_admin(client):
    client, _ = _client_for(client, REP)
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code in (302, 403)
    assert "/admin/login/" in response.get("Location", "/admin/login/")


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("role", "can_edit"), [(MARKETER, True), (ENABLEMENT_LEAD, True)])
def test_content_roles_open_the_asset_editor(client, role, can_edit):
    asset = make_asset("Pricing deck")
    client, _ = _client_for(client, role)
    response = client.get(reverse("wagtailadmin_pages:edit", args=[asset.id]))
    assert (response.status_code == 200) is can_edit


def test_rep_cannot_open_the_asset_editor(client):
    asset = make_asset("Pricing deck")
    client, _ = _client_for(client, REP)
    response = client.get(reverse("wagtailadmin_pages:edit", args=[asset.id]))
    assert response.status_code != 200


@pytest.mark.parametrize(
    ("role", "can_edit", "can_publish", "can_add"),
    [
        (REP, False, False, False),
        (MARKETER, True, False, True),
        (ENABLEMENT_LEAD, True, True, True),
        (ADMIN, True, True, True),
    ],
)
def test_page_permissions_by_role(role, can_edit, can_publish, can_add):
    asset = make_asset("Pricing deck")
    user = make_user(role=role)
    permissions = asset.permissions_for_user(user)
    assert permissions.can_edit() is can_edit
    assert permissions.can_publish() is can_publish
    assert library_root().permissions_for_user(user).can_add_subpage() is can_add


def test_marketer_can_submit_for_moderation_but_not_publish():
    asset = make_asset("Draft deck", publish=False)
    marketer = make_user(role=MARKETER)
    permissions = asset.permissions_for_user(marketer)
    assert permissions.can_submit_for_moderation()
    assert not permissions.can_publish()


@pytest.mark.parametrize(("role", "allowed"), [(ADMIN, True), (ENABLEMENT_LEAD, False)])
def test_only_admins_manage_users(client, role, allowed):
    client, _ = _client_for(client, role)
    response = client.get(reverse("wagtailusers_users:index"))
    assert (response.status_code == 200) is allowed


@pytest.mark.parametrize(("role", "allowed"), [(MARKETER, True), (REP, False)])
def test_marketers_manage_taxonomy_snippets(client, role, allowed):
    client, _ = _client_for(client, role)
    response = client.get(reverse("wagtailsnippets_cms_product:add"))
    assert (response.status_code == 200) is allowed


def test_library_assets_go_through_marketing_review():
    asset = make_asset("Draft deck", publish=False)
    assert asset.get_workflow().name == MODERATION_WORKFLOW


def test_lead_approval_publishes_a_marketers_submission():
    marketer = make_user(role=MARKETER)
    lead = make_user(role=ENABLEMENT_LEAD)
    asset = make_asset("Draft deck", publish=False)
    asset.save_revision(user=marketer)
    state = asset.get_workflow().start(asset, marketer)
    task_state = state.current_task_state
    task = task_state.task.specific

    assert task.get_actions(asset, marketer) == []
    assert [name for name, *_ in task.get_actions(asset, lead)].count("approve") >= 1
    task.on_action(task_state.specific, lead, "approve")

    asset.refresh_from_db()
    assert asset.live
    state.refresh_from_db()
    assert state.status == state.STATUS_APPROVED


def test_marketers_editor_offers_submission_to_marketing_review_not_publish(client):
    asset = make_asset("Draft deck", publish=False)
    client, _ = _client_for(client, MARKETER)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[asset.id])).content.decode()
    assert f"Submit to {MODERATION_WORKFLOW}" in html
    assert 'name="action-publish"' not in html


@pytest.mark.parametrize("role", [MARKETER, ENABLEMENT_LEAD, ADMIN, REP])
def test_delete_and_move_rights_match_wagtails_own_rules(role):
    """Leaf pages decide delete and move from their own row; the answers must be Wagtail's."""
    user = make_user(role=role)
    other = make_user(role=MARKETER)
    section = make_section("Battlecards")
    pages = [
        make_asset("Live deck", parent=section),
        make_asset("Draft deck", parent=section, publish=False),
        make_asset("My draft", parent=section, publish=False, owner=user),
        make_asset("My live deck", parent=section, owner=user),
        make_asset("Their draft", parent=section, publish=False, owner=other),
        make_section("Empty section"),
        section,
        library_root(),
    ]
    for page in pages:
        page.refresh_from_db()
        ours, wagtails = page.permissions_for_user(user), PagePermissionTester(user, page)
        assert ours.can_delete() == wagtails.can_delete(), (role, page.title)
        assert ours.can_delete(ignore_bulk=True) == wagtails.can_delete(ignore_bulk=True)
        assert ours.can_move() == wagtails.can_move(), (role, page.title)


def test_admin_page_search_asks_no_query_per_listed_page(client):
    """A marketer's page search costs the same number of queries for 2 results as for 12
    (a query per row made the search take about half a second at 10k assets)."""
    client, _ = _client_for(client, MARKETER)
    for number in range(2):
        make_asset(f"Quarterly pricing deck {number}")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/pages/search/", {"q": "pricing"}).status_code == 200
    for number in range(2, 12):
        make_asset(f"Quarterly pricing deck {number}", publish=number % 2 == 0)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/admin/pages/search/", {"q": "pricing"})
    assert response.content.count(b"Quarterly pricing deck") >= 12
    assert len(many) == len(few)
