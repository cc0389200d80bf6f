"""The partial search page (header X-Search-Partial): what search.js swaps in as the rep types
or clicks. Same service and template as the full page, so the same permissions and escaping."""

import pytest

from cms.models import AssetPage
from search import services
from search.models import SearchEvent

pytestmark = pytest.mark.django_db
PARTIAL = {"HTTP_X_SEARCH_PARTIAL": "1"}


@pytest.fixture
def searching(active_engine, library, client):
    client.force_login(library.outsider)
    return client


def test_partial_is_only_the_region_with_results_count_and_facets(searching):
    response = searching.get("/search/", {"q": "battlecrad"}, **PARTIAL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div id="search-region"' in html and "<html" not in html and "<header" not in html
    assert "1 result for “battlecrad”" in html
    assert "Acme battlecard" in html
    assert 'data-facet="type"' in html
    assert 'id="search-q"' not in html  # the box stays on the page while the rep types
    assert "Vary" in response and "X-Search-Partial" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_full_page_includes_the_same_region_and_a_live_status(searching):
    full = searching.get("/search/", {"q": "battlecrad"}).content.decode()
    partial = searching.get("/search/", {"q": "battlecrad"}, **PARTIAL).content.decode()
    assert '<p id="search-status" class="visually-hidden" role="status" aria-live="polite"' in full

    def region(html):  # the same markup but for the search key in the links
        start = html.index('<div id="search-region"')
        return html[start:].split("</main>")[0].strip()

    drop_keys = __import__("re").compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")
    assert drop_keys.sub("K", region(partial)) == drop_keys.sub("K", region(full))


def test_a_rep_never_sees_a_restricted_asset_in_the_partial(searching, library, client):
    html = searching.get("/search/", {"q": "zephyrine"}, **PARTIAL).content.decode()
    assert "Zephyrine secret plan" not in html
    assert "0 results" in html or "Nothing matches" in html
    facets = searching.get("/search/", {"competitor": "globex"}, **PARTIAL).content.decode()
    assert "Zephyrine" not in facets and "0 results" in facets
    chosen = '<span class="facet-label">Globex</span> <span class="count">0</span>'
    assert chosen in facets  # the chosen facet stays, counting nothing the rep may see
    client.force_login(library.insider)
    allowed = client.get("/search/", {"q": "zephyrine"}, **PARTIAL).content.decode()
    assert "Zephyrine secret plan" in allowed


def test_partial_needs_a_signed_in_user(client, active_engine):
    response = client.get("/search/", {"q": "x"}, **PARTIAL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_typed_text_is_escaped_in_the_partial(searching):
    typed = "<img src=x onerror=alert(1)>\"'"
    html = searching.get("/search/", {"q": typed}, **PARTIAL).content.decode()
    assert "<img src=x" not in html
    escaped = "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;"  # markupsafe's entities
    assert f"{escaped} · Search" in html  # the page title search.js sets
    assert f'data-q="{escaped}"' in html


def test_hostile_asset_title_is_escaped_in_the_partial(searching, library):
    AssetPage.objects.filter(pk=library.roadmap.pk).update(title="<b>Roadmap</b> briefing")
    services.index_assets(asset_ids=[library.roadmap.pk])
    html = searching.get("/search/", {"q": "roadmap"}, **PARTIAL).content.decode()
    assert "<b>Roadmap</b>" not in html and "&lt;b&gt;Roadmap&lt;/b&gt; briefing" in html


def test_bad_parameters_give_the_message_in_the_partial(searching):
    response = searching.get("/search/", {"q": "x", "sort": "loudest"}, **PARTIAL)
    assert response.status_code == 400
    html = response.content.decode()
    assert '<div id="search-region"' in html and "sort must be one of" in html


def test_engine_down_gives_the_notice_in_the_partial(library, client, down_engine):
    from search.engines import use_engine

    client.force_login(library.outsider)
    with use_engine(down_engine):
        response = client.get("/search/", {"q": "roadmap"}, **PARTIAL)
    assert response.status_code == 503
    assert "Search is unavailable right now" in response.content.decode()


def test_each_partial_search_is_recorded_once_with_a_key_its_links_use(searching):
    html = searching.get("/search/", {"q": "roadmap"}, **PARTIAL).content.decode()
    event = SearchEvent.objects.get()
    assert f'data-sid="{event.key}"' in html
    assert f"/search/click/{event.key}/" in html
