"""Wagtail's admin search for marketers: pages (the search view and the page chooser),
documents and snippets, on every backend the admin can use.

``admin_backend`` runs each behaviour test on Wagtail's database backend (the embedded
default) and on Wagtail's own OpenSearch and Elasticsearch backends at OPENSEARCH_TEST_URL /
ELASTICSEARCH_TEST_URL (skipped without them; with CI=true a skip fails the run). Server
indexes get this run's prefix and are deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Q
from django.test import override_settings
from wagtail.models import Collection, GroupCollectionPermission, Page
from wagtail.search.backends import get_search_backend

from accounts.roles import MARKETER
from accounts.services import permission_get
from cms.models import Competitor, LibraryPage
from enablement.env import wagtail_search_backends
from search.admin_filters import inlined
from tests.factories import make_asset, make_document, make_user

pytestmark = pytest.mark.django_db

RUN_ID = uuid.uuid4().hex[:8]
PAGE_SEARCH = "/admin/pages/search/"
CHOOSER_SEARCH = "/admin/choose-page/search/"
DOCUMENT_SEARCH = "/admin/documents/results/"
SERVERS = {"opensearch": "OPENSEARCH_TEST_URL", "elasticsearch": "ELASTICSEARCH_TEST_URL"}


def _drop_indexes(prefix: str) -> None:
    backend = get_search_backend()
    names = backend.es.indices.get_alias(index=f"{prefix}*")
    for name in getattr(names, "body", names):
        backend.es.indices.delete(index=name)


@pytest.fixture(params=["database", "opensearch", "elasticsearch"])
def admin_backend(request):
    """The admin's search on one backend; yields a function that makes recent writes
    searchable (a no-op on the database; an index refresh on a server)."""
    kind = request.param
    if kind == "database":
        yield lambda: None
        return
    url = os.environ.get(SERVERS[kind])
    if not url:
        pytest.skip(f"{SERVERS[kind]} is not set: no {kind} server to test against")
    prefix = f"test-admin-{RUN_ID}-{kind}"
    backends = wagtail_search_backends(url=url, engine=kind, index=prefix)
    with override_settings(WAGTAILSEARCH_BACKENDS=backends):
        call_command("update_index", verbosity=0)  # creates the indexes with their mappings
        try:
            yield lambda: get_search_backend().refresh_indexes()
        finally:
            _drop_indexes(prefix)


@pytest.fixture
def marketer_client(client):
    client.force_login(make_user(role=MARKETER))
    return client


def _titles(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- pages -----------------------------------------------------------------------------------


def test_marketer_finds_a_page_by_a_word_of_its_title_and_a_prefix(admin_backend, marketer_client):
    make_asset("Globex pricing battlecard")
    make_asset("Onboarding checklist")
    admin_backend()
    shown = _titles(marketer_client.get(PAGE_SEARCH, {"q": "pricing"}))
    assert "Globex pricing battlecard" in shown
    assert "Onboarding checklist" not in shown
    typed = _titles(marketer_client.get(CHOOSER_SEARCH, {"q": "batt"}))
    assert "Globex pricing battlecard" in typed
    assert "Onboarding checklist" not in typed


def test_publishing_an_edit_updates_the_admin_search(admin_backend, marketer_client):
    asset = make_asset("Acme renewal playbook")
    asset.title = "Acme expansion playbook"
    asset.save_revision().publish()
    admin_backend()
    assert "Acme expansion playbook" in _titles(
        marketer_client.get(PAGE_SEARCH, {"q": "expansion"})
    )
    assert "Acme expansion playbook" not in _titles(
        marketer_client.get(PAGE_SEARCH, {"q": "renewal"})
    )


def test_deleting_a_page_removes_it_from_the_admin_search(admin_backend, marketer_client):
    make_asset("Initech security whitepaper").delete()
    admin_backend()
    shown = _titles(marketer_client.get(PAGE_SEARCH, {"q": "whitepaper"}))
    assert "Initech security whitepaper" not in shown
    chooser = _titles(marketer_client.get(CHOOSER_SEARCH, {"q": "whitepaper"}))
    assert "Initech security whitepaper" not in chooser


def test_marketer_does_not_find_pages_outside_the_library(admin_backend, client):
    """Marketers may edit only under the library home; a page elsewhere in the tree (another
    site, a staging area) stays out of their search results and the page-type counts."""
    make_asset("Umbrella pricing deck")
    Page.get_first_root_node().add_child(instance=LibraryPage(title="Private pricing archive"))
    admin_backend()
    client.force_login(make_user(role=MARKETER))
    shown = _titles(client.get(PAGE_SEARCH, {"q": "pricing"}))
    assert "Umbrella pricing deck" in shown
    assert "Private pricing archive" not in shown
    client.force_login(make_user(is_superuser=True))
    assert "Private pricing archive" in _titles(client.get(PAGE_SEARCH, {"q": "pricing"}))


# --- documents and snippets -------------------------------------------------------------------


def test_document_title_changes_and_deletion_reach_the_admin_search(admin_backend, marketer_client):
    document = make_document("a.txt", title="Hooli compliance datasheet")
    gone = make_document("b.txt", title="Stark compliance datasheet")
    document.title = "Hooli security datasheet"
    document.save()
    gone.delete()
    admin_backend()
    shown = _titles(marketer_client.get(DOCUMENT_SEARCH, {"q": "datasheet"}))
    assert "Hooli security datasheet" in shown
    assert "Stark compliance datasheet" not in shown
    assert "Hooli security datasheet" not in _titles(
        marketer_client.get(DOCUMENT_SEARCH, {"q": "compliance"})
    )


def test_documents_in_a_collection_a_user_may_not_see_stay_hidden(admin_backend, client):
    """Wagtail's collection permissions still filter the document search."""
    root = Collection.get_first_root_node()
    open_to_them = root.add_child(name="Field marketing")
    closed = root.add_child(name="Board material")
    placed = (("Wayne pricing sheet", open_to_them), ("Wayne pricing memo", closed))
    for title, collection in placed:
        document = make_document("w.txt", title=title)
        document.collection = collection
        document.save()
    admin_backend()
    group = Group.objects.create(name="Field marketers")
    group.permissions.add(permission_get("wagtailadmin.access_admin"))
    GroupCollectionPermission.objects.create(
        group=group,
        collection=open_to_them,
        permission=permission_get("wagtaildocs.change_document"),
    )
    user = make_user()
    user.groups.add(group)
    client.force_login(user)
    shown = _titles(client.get(DOCUMENT_SEARCH, {"q": "pricing"}))
    assert "Wayne pricing sheet" in shown
    assert "Wayne pricing memo" not in shown


def test_marketer_finds_a_competitor_snippet_by_name(marketer_client):
    """Taxonomy snippets are searched in the database itself (they are not indexed models),
    so there is no index to keep up to date."""
    Competitor.objects.create(name="Vandelay Industries", slug="vandelay-industries")
    shown = _titles(
        marketer_client.get("/admin/snippets/cms/competitor/results/", {"q": "vandelay"})
    )
    assert "Vandelay Industries" in shown


# --- rebuilding --------------------------------------------------------------------------------


def test_update_index_rebuilds_the_admin_search_from_the_database(marketer_client):
    """The database is the source of truth: an emptied index comes back with update_index."""
    make_asset("Globex migration guide")
    get_search_backend().reset_indexes()
    assert "Globex migration guide" not in _titles(
        marketer_client.get(PAGE_SEARCH, {"q": "migration"})
    )
    call_command("update_index", verbosity=0)
    assert "Globex migration guide" in _titles(marketer_client.get(PAGE_SEARCH, {"q": "migration"}))


ROADRUNNER = (
    "Roadrunner proposal template",
    "Roadrunner launch webinar",
    "Roadrunner pricing sheet",
)


def _row(html: str, title: str) -> str:
    """The listing's table row that shows ``title``, from the title on."""
    return html[html.index(title) :].split("</tr>")[0]


def _status_queries(captured) -> int:
    """Queries that ask about revisions or workflow states: what a page's status tag needs."""
    return sum(
        "wagtailcore_revision" in query["sql"] or "wagtailcore_workflowstate" in query["sql"]
        for query in captured.captured_queries
    )


def test_chooser_search_shows_each_pages_status_without_a_query_per_row(
    admin_backend, marketer_client, django_assert_max_num_queries
):
    """The chooser's status tags (in moderation, live + scheduled, live) come from bulk
    lookups: a search listing 12 pages asks about revisions and workflow states as often as
    one listing 2. (Each row's parent page is still one query: Wagtail's chooser gives a hook
    before the search, not after the paging.)"""
    from datetime import timedelta

    from django.utils import timezone

    marketer = make_user(role=MARKETER)
    moderated = make_asset("Roadrunner proposal template", publish=False)
    moderated.save_revision(user=marketer)
    moderated.get_workflow().start(moderated, marketer)
    scheduled = make_asset("Roadrunner launch webinar")
    revision = scheduled.save_revision(user=marketer)
    revision.approved_go_live_at = timezone.now() + timedelta(days=3)
    revision.save()
    make_asset("Roadrunner pricing sheet")
    admin_backend()

    shown = _titles(marketer_client.get(CHOOSER_SEARCH, {"q": "roadrunner"}))
    rows = {title: _row(shown, title) for title in ROADRUNNER}
    assert "in moderation" in rows["Roadrunner proposal template"]
    assert "live + scheduled" in rows["Roadrunner launch webinar"]
    assert "live" in rows["Roadrunner pricing sheet"]
    assert "scheduled" not in rows["Roadrunner pricing sheet"]
    assert "moderation" not in rows["Roadrunner pricing sheet"]
    section = f"/admin/choose-page/{moderated.get_parent().pk}/"
    for params in ({}, {"page_type": "cms.assetpage"}):  # the second combines two querysets
        browsed = _titles(marketer_client.get(section, params))
        assert "in moderation" in _row(browsed, "Roadrunner proposal template")

    make_asset("Coyote case study")
    make_asset("Coyote battlecard")
    admin_backend()
    with django_assert_max_num_queries(100) as few:
        assert _titles(marketer_client.get(CHOOSER_SEARCH, {"q": "coyote"})).count("Coyote") >= 2
    for number in range(10):
        make_asset(f"Coyote one-pager {number}")
    admin_backend()
    with django_assert_max_num_queries(100) as many:
        assert _titles(marketer_client.get(CHOOSER_SEARCH, {"q": "coyote"})).count("Coyote") >= 12
    assert _status_queries(many) == _status_queries(few) <= 2


# --- the explorable-pages filter, inlined for every backend -----------------------------------


def test_a_filter_listing_the_tables_own_ids_becomes_its_conditions_with_the_same_rows():
    """The page search's "pages you may explore" filter (``pk IN (SELECT pk ... WHERE path
    ...)``) becomes the conditions themselves: the same pages, no list of ids built first."""

    make_asset("Inside the library")
    outside = Page.get_first_root_node().add_child(instance=LibraryPage(title="Outside"))
    library = LibraryPage.objects.get(slug="library")
    explorable = Page.objects.filter(path__startswith=library.path).values_list("pk", flat=True)
    filtered = Page.objects.filter(pk__in=explorable, depth__gte=2)

    reshaped = inlined(filtered)
    assert "SELECT" not in str(reshaped.query).partition(" WHERE ")[2]
    assert "LIKE" in str(reshaped.query)
    assert set(reshaped.values_list("pk", flat=True)) == set(filtered.values_list("pk", flat=True))
    assert outside.pk not in set(reshaped.values_list("pk", flat=True))
    assert reshaped.count() == filtered.count() >= 2


def test_filters_that_are_not_a_list_of_the_tables_own_ids_are_left_as_they_are():
    make_asset("Some asset")
    ids = Page.objects.values_list("pk", flat=True)
    owners = Page.objects.filter(pk__in=Page.objects.values_list("owner_id", flat=True))
    negated = Page.objects.exclude(pk__in=ids.filter(depth=1))
    sliced = Page.objects.filter(pk__in=ids.order_by("pk")[:1])
    either = Page.objects.filter(Q(pk__in=ids.filter(depth=1)) | Q(depth=3))
    joined = Page.objects.filter(pk__in=ids.filter(owner__username="someone"))
    for queryset in (owners, negated, sliced, either, joined):
        assert inlined(queryset) is queryset


def _server_requests(monkeypatch) -> list[str] | None:
    """The names of the client calls the admin's search server gets from now on (None on the
    database backend)."""
    backend = get_search_backend()
    if not hasattr(backend, "es"):
        return None
    asked: list[str] = []
    client_class = type(backend.es)
    for name in ("search", "count"):
        original = getattr(client_class, name)

        def recorded(self, *args, _name=name, _original=original, **kwargs):
            asked.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(client_class, name, recorded)
    return asked


def test_the_page_search_shows_its_counts_from_one_answer_of_the_server(
    admin_backend, marketer_client, monkeypatch
):
    """Wagtail's page search wants four things of a server: the page-type counts, the
    paginator's count, the page of results and the count of all matches. The counts come
    with the page-type answer: two round trips, and every count shown is right, with and
    without a page type chosen, and fresh on the next request. The table's header names what
    it counts (Wagtail's own view said "None")."""
    for title in ("Initech pricing deck", "Initech pricing sheet", "Initech pricing model"):
        make_asset(title)
    make_asset("Onboarding checklist")
    admin_backend()
    asked = _server_requests(monkeypatch)
    shown = _titles(marketer_client.get(PAGE_SEARCH, {"q": "pricing"}))
    assert "There are 3 matching pages" in shown
    assert "All (3)" in shown
    assert "Asset page (3)" in shown
    assert "1-3 of 3 pages" in " ".join(shown.split())  # the table's header (not "3 None")
    if asked is not None:
        assert asked == ["search", "search"]
    chosen = _titles(
        marketer_client.get(PAGE_SEARCH, {"q": "pricing", "content_type": "cms.assetpage"})
    )
    assert "There are 3 matching pages" in chosen
    make_asset("Initech pricing FAQ")
    admin_backend()
    again = _titles(marketer_client.get(PAGE_SEARCH, {"q": "pricing"}))
    assert "There are 4 matching pages" in again
    assert "All (4)" in again


def test_the_page_search_asks_each_backend_for_explorable_pages_by_their_conditions(
    admin_backend,
):
    """What Wagtail's page search gives the backend (``pk IN`` the marketer's explorable
    pages) reaches it as conditions on the searched pages; a server gets a path prefix, not
    the id of every page in the library."""
    import json

    from wagtail.permission_policies.pages import PagePermissionPolicy

    make_asset("Initech pricing deck")
    admin_backend()
    marketer = make_user(role=MARKETER)
    explorable = PagePermissionPolicy().explorable_instances(marketer).values_list("pk", flat=True)
    results = get_search_backend().autocomplete("pricing", Page.objects.filter(pk__in=explorable))
    assert [page.title for page in results] == ["Initech pricing deck"]
    compiler = results.query_compiler
    assert "SELECT" not in str(compiler.queryset.query).partition(" WHERE ")[2]
    if hasattr(compiler, "get_query"):  # Elasticsearch, OpenSearch
        sent = json.dumps(compiler.get_query())
        assert '"prefix"' in sent
        assert '"terms": {"id_filter"' not in sent


# --- what marketers type -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ['"', 'pricing "roi', 'Pricing "sheet"', "(", "*", "-", "a AND"])
def test_quotes_and_operators_in_an_admin_search_are_text_not_an_error(
    admin_backend, marketer_client, text
):
    """A marketer searching for a title they wrote (`=HYPERLINK("http://x")`, `pricing "roi`)
    got a server error from the document listing, its chooser, the page chooser and images
    (SQLite: "unterminated string") on the database backend (outside audit)."""
    make_document(title='Pricing "sheet" 2026')
    admin_backend()
    for url in (
        "/admin/documents/",
        DOCUMENT_SEARCH,
        "/admin/documents/chooser/results/",
        CHOOSER_SEARCH,
        PAGE_SEARCH,
        "/admin/images/",
        "/admin/snippets/cms/competitor/",
    ):
        response = marketer_client.get(url, {"q": text})
        assert response.status_code == 200, (url, response.status_code)
    found = _titles(marketer_client.get(DOCUMENT_SEARCH, {"q": 'Pricing "sheet"'}))
    assert "Pricing &quot;sheet&quot; 2026" in found or 'Pricing "sheet" 2026' in found
