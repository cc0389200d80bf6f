"""The rep search page, suggestions endpoint and result click-through (embedded engine)."""

import html
import re

import pytest

from cms.models import LibraryDocument
from search.models import SearchClick, SearchEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def searching(active_engine, library, client):
    client.force_login(library.outsider)
    return client


def test_search_page_shows_result_cards_with_chips_owner_and_review(searching):
    page = searching.get("/search/", {"q": "battlecrad"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "1 result for “battlecrad”" in html
    card = html[html.index('class="result-card"') :]
    assert "Acme battlecard" in card
    assert '<span class="chip chip-type">Battlecard</span>' in card
    assert '<span class="chip chip-stage">Decide</span>' in card
    assert '<span class="chip chip-pillar">Why Buy You?</span>' in card
    assert "Owner: marketer ·" in card
    assert re.search(r"Reviewed until \d{1,2} [A-Z][a-z]{2} 20\d\d<", card)  # as pages write days


def test_results_found_only_within_typos_are_called_close_matches(searching):
    notice = "No asset has “battlecrad” as typed: these are close matches."
    assert notice in searching.get("/search/", {"q": "battlecrad"}).content.decode()
    exact = searching.get("/search/", {"q": "battlecard"}).content.decode()
    assert "Acme battlecard" in exact and "close matches" not in exact
    nothing = searching.get("/search/", {"q": "zzyzxq"}).content.decode()
    assert "Nothing matches “zzyzxq”" in nothing and "close matches" not in nothing


def test_hostile_title_and_text_are_escaped_on_the_page(searching, library):
    LibraryDocument.objects.filter(pk=library.pdf.pk).update(
        extracted_text="<script>alert('file')</script> handlers"
    )
    from search import services

    services.index_assets(asset_ids=[library.case_study.pk])
    html = searching.get("/search/", {"q": "handlers"}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Hostile deck" in html
    assert "&lt;script&gt;alert(&#x27;file&#x27;)&lt;/script&gt; <mark>handlers</mark>" in html
    assert "<img" not in html


def test_facet_links_narrow_and_show_counts(searching):
    html = searching.get("/search/", {"stage": "decide"}).content.decode()
    assert re.search(
        r'data-value="decide" aria-current="true">.*?<span class="count">1</span>', html
    )
    assert "Acme battlecard" in html and "Roadmap briefing" not in html
    assert 'href="/search/?q=&amp;stage=decide&amp;competitor=acme"' not in html  # q="" dropped
    assert 'href="/search/?stage=decide&amp;competitor=acme"' in html


def test_every_search_is_recorded_with_its_filters_and_latency(searching, library):
    searching.get("/search/", {"q": "  Acme   Battlecard ", "stage": "decide", "sort": "newest"})
    event = SearchEvent.objects.get()
    assert event.user == library.outsider
    assert event.query == "Acme   Battlecard"
    assert event.normalized_query == "acme battlecard"
    assert event.filters == {"stage": ["decide"], "sort": "newest"}
    assert event.result_count == 1
    assert 0 < event.latency_ms < 1000
    assert event.source == "web"


def test_opening_the_empty_search_page_is_not_a_search(searching):
    assert searching.get("/search/").status_code == 200
    assert not SearchEvent.objects.exists()


def test_searches_that_find_nothing_are_recorded_with_zero(searching):
    html = searching.get("/search/", {"q": "zephyrine"}).content.decode()
    assert "Nothing matches “zephyrine”" in html
    assert SearchEvent.objects.get().result_count == 0


def test_result_click_is_recorded_then_opens_the_asset(searching, library):
    html = searching.get("/search/", {"q": "roadmap"}).content.decode()
    event = SearchEvent.objects.get()
    link = f"/search/click/{event.key}/{library.roadmap.pk}/?pos=1"
    assert f'href="{link}"' in html
    response = searching.get(link)
    assert response.status_code == 302 and response["Location"] == library.roadmap.url
    click = SearchClick.objects.get()
    assert (click.search, click.asset_id, click.position) == (event, library.roadmap.pk, 1)


def test_click_on_an_asset_the_rep_may_not_see_is_a_404_and_not_recorded(searching, library):
    searching.get("/search/", {"q": "roadmap"})
    event = SearchEvent.objects.get()
    response = searching.get(f"/search/click/{event.key}/{library.restricted.pk}/?pos=1")
    assert response.status_code == 404
    assert not SearchClick.objects.exists()


def test_numbers_too_large_for_the_database_are_404s_and_a_wild_position_is_zero(
    searching, library
):
    searching.get("/search/", {"q": "roadmap"})
    event = SearchEvent.objects.get()
    huge = "9" * 23  # past the database's 64-bit integers
    for url in (
        f"/search/click/{event.key}/{huge}/",
        f"/assets/{huge}/download/",
        f"/assets/{huge}/thumbnail/",
        f"/assets/{library.roadmap.pk}/pages/{huge}/preview/",
        f"/analytics/assets/{huge}/",
        f"/notifications/{huge}/open/",
    ):
        assert searching.get(url).status_code == 404, url
    assert not SearchClick.objects.exists()
    response = searching.get(f"/search/click/{event.key}/{library.roadmap.pk}/?pos={huge}")
    assert response.status_code == 302
    assert SearchClick.objects.get().position == 0


@pytest.mark.parametrize("page", ["9" * 5000, "1234567", "²"])
def test_a_click_ignores_a_page_that_is_not_a_small_number(searching, library, page):
    searching.get("/search/", {"q": "roadmap"})
    event = SearchEvent.objects.get()
    url = f"/search/click/{event.key}/{library.roadmap.pk}/"
    response = searching.get(url, {"page": page})
    assert response.status_code == 302 and response["Location"] == library.roadmap.url


def test_second_page_keeps_the_search_id_and_records_no_new_event(searching):
    first = searching.get("/search/", {"q": "", "type": "deck", "per_page": "1"})
    event = SearchEvent.objects.get()
    assert f"sid={event.key}" in first.content.decode()
    second = searching.get(
        "/search/", {"type": "deck", "per_page": "1", "page": "2", "sid": str(event.key)}
    )
    assert second.status_code == 200
    assert SearchEvent.objects.count() == 1
    assert f"/search/click/{event.key}/" in second.content.decode()


def test_bad_parameters_get_a_clear_message(searching):
    page = searching.get("/search/", {"q": "x", "sort": "loudest"})
    assert page.status_code == 400
    assert "sort must be one of relevance, newest, effective" in page.content.decode()


def test_deal_mode_form_and_reasons_on_the_page(searching):
    html = searching.get(
        "/search/", {"deal_stage": "decide", "deal_competitor": "acme"}
    ).content.decode()
    assert '<details class="deal-mode" open>' in html
    assert '<option value="decide" selected>Decide</option>' in html
    first_card = html[html.index('class="result-card"') :]
    assert first_card.index("Acme battlecard") < first_card.index("</li>")
    assert "<li>Decide stage</li><li>Against Acme</li>" in first_card


def test_suggestions_endpoint_returns_titles_and_terms(searching):
    data = searching.get("/search/suggest/", {"q": "acm"}).json()
    assert {"kind": "competitor", "label": "Acme", "url": "/search/?competitor=acme"} in data[
        "suggestions"
    ]
    assert data["suggestions"][0]["label"] == "Acme battlecard"


def test_search_needs_a_signed_in_user(client, active_engine):
    assert client.get("/search/", {"q": "x"}).status_code == 302
    assert client.get("/search/suggest/", {"q": "xx"}).status_code == 401


def test_search_box_serves_its_script_and_styles_locally(searching):
    html = searching.get("/search/").content.decode()
    assert '<script src="/static/search/search.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/search/search.css">' in html
    assert "http://" not in html.split("<body>")[1].split("</form>")[0]


@pytest.mark.parametrize("text", ["🚚", "((((", "%"])
def test_text_with_no_searchable_word_says_so_instead_of_listing_the_library(searching, text):
    html = searching.get("/search/", {"q": text}).content.decode()
    assert f"No searchable words in “{text}”" in html
    assert "result-card" not in html
    assert "results for" not in html and "Nothing matches" not in html
    assert SearchEvent.objects.get().result_count == 0  # still counted as a search that failed


def test_only_common_words_are_explained(searching):
    html = searching.get("/search/", {"q": "of the"}).content.decode()
    assert "No searchable words in “of the” (words as common as “of” are not searched)" in html


def test_each_card_offers_used_in_a_deal_with_the_reps_open_deals(searching, library):
    """analytics adds the form through the ``search_result_actions`` hook; it posts to the
    asset's "used in deal" URL and comes back to the search."""
    from analytics.models import Deal

    Deal.objects.create(
        external_id="D-1",
        name="Globex renewal",
        account="Globex",
        stage="x",
        owner=library.outsider,
    )
    Deal.objects.create(external_id="D-2", name="Someone else's", stage="x", owner=library.insider)
    html = searching.get("/search/", {"q": "battlecard"}).content.decode()
    card = html[html.index('class="result-card"') : html.index("</li>", html.index("result-card"))]
    action = f'action="/analytics/assets/{library.battlecard.pk}/used/"'
    assert action in card
    assert "Globex renewal · Globex" in card and "Someone else" not in card
    assert 'name="next" value="/search/?q=battlecard"' in card
    assert '<input type="hidden" name="csrfmiddlewaretoken" value="' in card


def test_results_fetched_as_the_rep_types_hold_the_deal_form_once(searching, library):
    """Each card's "Used in a deal?" was a form listing every open deal of the rep: a rep
    with 30 deals got 600 options (55 KB) on every keystroke. The fetched results hold the
    form once, for search.js to copy into a card when it is opened; the full page (no
    JavaScript) keeps a form in every card."""
    from analytics.models import Deal

    for number in range(30):
        Deal.objects.create(
            external_id=f"D-{number}", name=f"Deal {number}", stage="x", owner=library.outsider
        )
    params = {"sort": "newest"}  # the whole library the rep may see
    fetched = searching.get("/search/", params, HTTP_X_SEARCH_PARTIAL="1").content.decode()
    full = searching.get("/search/", params).content.decode()
    cards = full.count('class="result-card"')
    assert cards == fetched.count('class="result-card"') >= 2
    assert fetched.count(">Deal 7 · x</option>") == 1 and fetched.count("<form") == 2  # + deal mode
    used = f'data-action="used-deal" data-url="/analytics/assets/{library.battlecard.pk}/used/"'
    assert used in fetched
    template = fetched[fetched.index('<template id="action-used-deal">') :]
    assert 'name="csrfmiddlewaretoken"' in template and ">Deal 29 · x</option>" in template
    assert full.count(">Deal 7 · x</option>") == cards and "<template" not in full


def test_each_cards_deal_control_is_named_after_its_asset(searching, library):
    """A screen reader's list of controls read "Used in a deal?" once per card, with nothing
    to tell them apart (an outside accessibility audit): each names its asset, out of sight."""
    from analytics.models import Deal

    Deal.objects.create(external_id="D-1", name="Renewal", stage="x", owner=library.outsider)
    for partial in ({}, {"HTTP_X_SEARCH_PARTIAL": "1"}):
        html = searching.get("/search/", {"sort": "newest"}, **partial).content.decode()
        titles = re.findall(r'class="result-link">([^<]+)</a>', html)
        summaries = re.findall(r"<summary>(.*?)</summary>", html[html.index("result-card") :])
        spoken = [re.sub(r"<[^>]+>", "", summary) for summary in summaries]
        assert len(titles) >= 2
        assert spoken == [f"Used in a deal? {title}" for title in titles]
        assert all('<span class="visually-hidden">' in summary for summary in summaries)


def test_the_cards_deal_form_posts_with_its_csrf_token(library):
    """The results region is a Jinja2 template: its forms must carry Django's CSRF token, so a
    rep's click records the use and comes back to the search (the token is checked here)."""
    from django.test import Client

    from analytics.models import Deal, UsageEvent

    deal = Deal.objects.create(external_id="D-1", name="Renewal", stage="x", owner=library.outsider)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(library.outsider)
    html = browser.get("/search/", {"q": "battlecard"}, HTTP_X_SEARCH_PARTIAL="1").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    url = f"/analytics/assets/{library.battlecard.pk}/used/"
    assert f'data-url="{url}"' in html  # each card's form posts to its own asset
    refused = browser.post(url, {"deal": deal.pk, "next": "/search/?q=battlecard"})
    assert refused.status_code == 403 and not UsageEvent.objects.exists()
    posted = browser.post(
        url, {"deal": deal.pk, "next": "/search/?q=battlecard", "csrfmiddlewaretoken": token}
    )
    assert posted.status_code == 302 and posted["Location"] == "/search/?q=battlecard"
    assert UsageEvent.objects.filter(deal=deal, asset_id=library.battlecard.pk).count() == 1


def test_a_rep_without_open_deals_gets_no_deal_form(searching):
    html = searching.get("/search/", {"q": "battlecard"}).content.decode()
    assert "Used in a deal?" not in html


def test_a_page_of_results_costs_the_same_queries_for_one_hit_or_many(searching, library):
    """The page and its cards are built from the search results in a fixed number of queries
    (no query per hit)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.models import Deal

    Deal.objects.create(external_id="D-1", name="Renewal", stage="x", owner=library.outsider)
    searching.get("/search/", {"q": "roadmap"})  # warm the label and synonym caches
    with CaptureQueriesContext(connection) as one:
        page = searching.get("/search/", {"type": "battlecard"})
    assert page.content.decode().count('class="result-card"') == 1
    types = ["battlecard", "deck", "one-pager", "case-study"]
    with CaptureQueriesContext(connection) as many:
        page = searching.get("/search/", {"type": types})
    assert page.content.decode().count('class="result-card"') >= 5
    assert len(many) == len(one)


def test_a_page_past_the_last_and_an_overlong_text_are_refused_naming_them(searching):
    past = searching.get("/search/", {"q": "roadmap", "page": "5"})
    assert past.status_code == 400
    assert "page 5 is past the last page of this search (1)" in past.content.decode()
    assert "Page 5 of 1" not in past.content.decode()
    # The way out is the last page (content withdrawn since the link was made: outside audit).
    assert '<a id="way-out" href="/search/?q=roadmap">Go to page 1</a>' in past.content.decode()
    long = searching.get("/search/", {"q": "pricing " * 30}, HTTP_X_SEARCH_PARTIAL="1")
    assert long.status_code == 400
    told = "The search text (q) is 239 characters long; a search takes at most 200. Shorten it"
    assert told in long.content.decode()
    assert not SearchEvent.objects.exists()
    assert searching.get("/search/", {"q": "x" * 200}).status_code == 200


def test_nothing_found_suggests_clearing_filters_only_when_there_are_some(searching):
    plain = searching.get("/search/", {"q": "zephyrine"}).content.decode()
    assert "Try fewer or other words." in plain and "clear the filters" not in plain
    filtered = searching.get("/search/", {"q": "zephyrine", "stage": "decide"}).content.decode()
    assert "with these filters. Try fewer words or <a" in filtered


def _offers(client, text: str) -> list[tuple[str, str]]:
    """(link, words) of each offer a search for ``text`` shows under its empty results."""
    html = client.get("/search/", {"q": text}).content.decode()
    return re.findall(r'<p class="empty-action"><a href="([^"]+)">([^<]+)</a></p>', html)


def test_a_search_naming_a_pillar_offers_that_filter_before_asking_marketing(searching, library):
    """Stage and pillar names are not searched ("buy" would match every tag), so "why buy
    you" answered "Nothing matches" and offered only to ask marketing for content the rep's
    library holds (an outside audit)."""
    offers = _offers(searching, "why buy you")
    first_url, first_words = offers[0]
    assert first_url == "/search/?pillar=why-buy-you"
    filtered = searching.get(first_url, HTTP_X_SEARCH_PARTIAL="1").content.decode()
    total = int(re.search(r'class="result-count"[^>]*>(\d+) result', filtered).group(1))
    assert total >= 1
    plural = "" if total == 1 else "s"
    assert first_words == f"Why Buy You? is a pillar: see its {total} asset{plural}"
    assert offers[-1][1].startswith("Ask marketing for")
    # Begun words name each pillar they begin; a word naming the facet is passed over.
    assert [url for url, _ in _offers(searching, "why buy")[:-1]] == [
        "/search/?pillar=why-buy",
        "/search/?pillar=why-buy-you",
    ]  # not Why Buy Now?: of its assets, this rep may open none
    assert _offers(searching, "decide stage")[0][0] == "/search/?stage=decide"
    # Every word must be the term's: other words name no filter.
    (only,) = _offers(searching, "onboard zebra")
    assert only[1] == "Ask marketing for “onboard zebra”"


def test_the_filters_a_search_names_count_only_what_the_searcher_may_open(client, library):
    """Why Buy Now? is carried only by an asset of the EMEA-only section."""
    client.force_login(library.outsider)
    assert "why-buy-now" not in str(_offers(client, "why buy now"))
    client.force_login(library.insider)
    assert _offers(client, "why buy now")[0] == (
        "/search/?pillar=why-buy-now",
        "Why Buy Now? is a pillar: see its 1 asset",
    )


def test_a_search_that_finds_something_offers_no_filter(searching, library):
    html = searching.get("/search/", {"q": "battlecard"}).content.decode()
    assert "is a pillar" not in html and "is a stage" not in html


def test_the_api_offers_what_the_page_offers_for_a_search_that_found_nothing(
    searching, client, library
):
    """A CRM sidebar on the API was told "0 results" for "why buy you" and nothing more,
    where the page offers the pillar and its count."""
    page = _offers(searching, "why buy you")
    data = searching.get("/api/v1/search", {"q": "why buy you"}).json()
    assert data["total"] == 0
    assert [(offer["url"], offer["label"]) for offer in data["offers"]] == [
        (url.replace("&amp;", "&"), html.unescape(words)) for url, words in page
    ]
    assert data["offers"][0]["label"].startswith("Why Buy You? is a pillar: see its")
    assert data["offers"][-1]["url"].startswith("/analytics/requests/?q=why+buy+you")
    # Counted for the caller only, and nothing offered beside results.
    client.force_login(library.outsider)
    outsider = client.get("/api/v1/search", {"q": "why buy now"}).json()["offers"]
    assert "why-buy-now" not in str(outsider)
    assert searching.get("/api/v1/search", {"q": "battlecard"}).json()["offers"] == []
