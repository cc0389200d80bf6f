"""Synonym sets: what marketers write in the admin, how it is read, and what reps then see
(the engine behaviour itself is in the engine suite, on every engine)."""

import pytest
from django.urls import reverse

from accounts.roles import MARKETER, REP
from search.models import SearchSynonyms
from search.query import plan_text
from search.synonyms import SynonymsInvalid, parse_synonyms
from tests.factories import make_user
from tests.search.conftest import set_synonyms

SETS = parse_synonyms("roi, return on investment\nbattlecard, competitive card, battle card")


def test_one_set_per_line_terms_separated_by_commas():
    sets = parse_synonyms(
        "# notes are skipped\n\n ROI ,Return on Investment\nbattlecard, battle-card"
    )
    assert sets == (
        (("roi",), ("return", "on", "investment")),
        (("battlecard",), ("battle", "card")),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roi", "line 1: a set needs at least two different terms"),
        ("roi, ROI", "line 1: a set needs at least two different terms"),
        ("roi, return on investment\n\nroi, payback", "line 3: “roi” is already in line 1"),
        ("deck, , slides", "line 1: an empty term has no searchable word"),
        ("deck, 🚚", "line 1: “🚚” has no searchable word"),
        ("it, information technology", "line 1: “it” has only words too common to search"),
        ("a b c d e f g, x", "line 1: “a b c d e f g” is longer than 6 words"),
    ],
)
def test_bad_line_is_refused_naming_it(text, message):
    with pytest.raises(ValueError, match=message):
        parse_synonyms(text)


def test_every_bad_line_is_named_and_a_pasted_page_is_not_repeated_back():
    """The admin showed only the first bad line, and a 10 KB term came back whole in the
    message (outside audit)."""
    pasted = "x" * 10_240
    text = f"roi, return on investment\n{pasted}, deck\nroi, payback\nbattlecard, the"
    with pytest.raises(SynonymsInvalid) as refused:
        parse_synonyms(text)
    problems = refused.value.problems
    assert [problem.split(":")[0] for problem in problems] == ["line 2", "line 3", "line 4"]
    assert "“roi” is already in line 1" in problems[1]
    assert "“the” has only words too common" in problems[2]
    assert len(problems[0]) < 120 and "x" * 59 + "…" in problems[0]
    many = "\n".join(f"word{n}" for n in range(30))
    with pytest.raises(SynonymsInvalid) as refused:
        parse_synonyms(many)
    assert len(refused.value.problems) == 11 and refused.value.problems[-1] == "and 20 more"


def test_the_longest_synonym_term_typed_becomes_one_clause():
    plan = plan_text("Return on investment battle card for CFOs", SETS)
    assert [(c.typed, c.synonyms) for c in plan.clauses] == [
        (("return", "on", "investment"), (("roi",),)),
        (("battle", "card"), (("battlecard",), ("competitive", "card"))),
        (("cfos",), ()),
    ]
    assert plan.ignored == ("for",)
    assert plan.expanded == (0, 1)


def test_a_quoted_phrase_that_is_a_term_gets_its_synonyms_too():
    plan = plan_text('"competitive card" pricing', SETS)
    assert plan.clauses[0].phrase and plan.clauses[0].synonyms == (
        ("battlecard",),
        ("battle", "card"),
    )
    assert plan_text("roi", ()).clauses[0].synonyms == ()


@pytest.mark.django_db
def test_marketer_edits_synonyms_in_the_admin_and_a_bad_line_is_named(client):
    marketer = make_user("marketer", role=MARKETER, is_staff=False)
    client.force_login(marketer)
    url = reverse("wagtailsettings:edit", args=["library_search", "searchsynonyms"])
    page = client.get(url, follow=True)
    assert page.status_code == 200
    assert "One set per line" in page.content.decode()
    edit_url = page.redirect_chain[-1][0] if page.redirect_chain else url
    refused = client.post(edit_url, {"synonyms": "roi, return on investment\nroi\ndeck, the"})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "line 2: “roi” is already in line 1" in page
    assert "line 3: “the” has only words too common to search" in page
    saved = client.post(edit_url, {"synonyms": "roi, return on investment"})
    assert saved.status_code == 302
    assert SearchSynonyms.objects.get().synonyms == "roi, return on investment"


@pytest.mark.django_db
def test_reps_cannot_edit_synonyms(client):
    client.force_login(make_user("rep", role=REP))
    url = reverse("wagtailsettings:edit", args=["library_search", "searchsynonyms"])
    response = client.get(url, follow=True)
    assert "One set per line" not in response.content.decode()


@pytest.mark.django_db
def test_saved_synonyms_apply_to_the_next_search_at_once(active_engine, library, client):
    from tests.factories import make_asset
    from tests.search.conftest import run_search, titles

    make_asset("Payback model", summary="The return on investment, in months.")
    from search import services

    services.index_assets(asset_ids=[])
    assert titles(run_search(library.outsider, "roi")) == []  # no synonyms yet (now cached)
    set_synonyms("roi, return on investment")
    assert titles(run_search(library.outsider, "roi")) == ["Payback model"]


@pytest.mark.django_db
def test_result_card_and_api_say_a_hit_came_through_a_synonym(active_engine, library, client):
    from search import services
    from tests.factories import make_asset

    make_asset("Payback model", summary="The return on investment, in months.")
    services.index_assets(asset_ids=[])
    set_synonyms("roi, return on investment")
    client.force_login(library.outsider)
    html = client.get("/search/", {"q": "ROI"}).content.decode()
    card = html[html.index('class="result-card"') :]
    assert '<p class="via-synonym">Found through a synonym of “roi”</p>' in card
    hit = client.get("/api/v1/search", {"q": "ROI"}).json()["results"][0]
    assert (hit["title"], hit["via_synonym"], hit["synonym_of"]) == (
        "Payback model",
        True,
        ["roi"],
    )
    plain = client.get("/api/v1/search", {"q": "payback"}).json()["results"][0]
    assert (plain["via_synonym"], plain["synonym_of"]) == (False, [])
