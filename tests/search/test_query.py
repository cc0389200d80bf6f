"""The shared query model: text parsing, highlight escaping, parameter validation."""

import pytest
from django.http import QueryDict
from django.utils import timezone

from search.forms import InvalidSearch, query_from_params
from search.query import (
    MARK_END,
    MARK_START,
    Audience,
    SearchQuery,
    fuzzy_distance,
    normalize_text,
    parse_text,
    render_highlight,
)

REP = Audience(team_ids=frozenset({3}))


def test_quoted_words_become_a_phrase_and_the_rest_words():
    parsed = parse_text('acme "total cost" Pricing')
    assert parsed.phrases == (("total", "cost"),)
    assert parsed.words == ("acme", "pricing")


def test_query_syntax_is_dropped_not_interpreted():
    parsed = parse_text("title:(a OR b) -c +d* ~e^2")
    assert parsed.words == ("title", "a", "or", "b", "c", "d", "e", "2")
    assert parsed.phrases == ()
    assert parse_text('<script>alert("x")</script>').words == ("x", "script", "alert")


def test_long_input_is_bounded():
    parsed = parse_text("word " * 500)
    assert parsed.words == ("word",)
    assert len(parse_text(" ".join(f"w{i}" for i in range(100))).words) == 12


def test_typo_tolerance_grows_with_word_length():
    assert [fuzzy_distance(w) for w in ("roi", "deck", "pricing", "battlecard")] == [0, 1, 1, 2]


def test_normalized_query_groups_spelling_variants_of_case_and_spacing():
    assert normalize_text("  Acme   BATTLECARD! ") == "acme battlecard"


def test_highlight_escapes_everything_but_marks():
    html = render_highlight(f"<img src=x onerror=alert(1)> {MARK_START}price{MARK_END} & co")
    assert html == "&lt;img src=x onerror=alert(1)&gt; <mark>price</mark> &amp; co"


def test_highlight_never_leaves_a_mark_open():
    assert render_highlight(f"{MARK_START}a{MARK_START}b") == "<mark>ab</mark>"
    assert render_highlight(f"a{MARK_END}b") == "ab"


def test_audience_tokens_name_the_teams():
    assert REP.tokens() == ["all", "team:3"]
    assert Audience(team_ids=None).sees_everything


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("sort=best", "sort must be one of relevance, newest, effective"),
        ("page=0", "page must be between 1 and 200"),
        ("page=two", "page must be a whole number"),
        ("per_page=500", "per_page must be between 1 and 50"),
        ("stage=<script>", "stage: '<script>' is not a valid value"),
        ("deal_stage=a%20b", "deal_stage: 'a b' is not a valid value"),
    ],
)
def test_bad_parameter_is_refused_naming_it(params, message):
    with pytest.raises(InvalidSearch, match=message.replace("(", r"\(")):
        query_from_params(QueryDict(params), audience=REP)


def test_parameters_become_a_query():
    query = query_from_params(
        QueryDict("q=acme&stage=decide&stage=evaluate&type=deck&sort=newest&page=2&deal_stage=x"),
        audience=REP,
    )
    assert query.text == "acme"
    assert query.filters == {"stage": ("decide", "evaluate"), "type": ("deck",)}
    assert (query.sort, query.page, query.offset) == ("newest", 2, 20)
    assert query.deal.items() == [("stage", "x")]


def test_query_model_refuses_unknown_facets():
    with pytest.raises(ValueError, match="unknown facet 'colour'"):
        SearchQuery(audience=REP, now=timezone.now(), filters={"colour": ("red",)})


@pytest.mark.django_db
def test_a_typo_search_is_the_exact_search_then_the_one_within_typos_and_takes_both():
    """``search_run`` searches as typed first and, only when that finds nothing, within
    typos; the time recorded for the search (``latency_ms``) is that of both."""
    from search.engines import use_engine
    from search.query import SearchResults
    from search.selectors import search_run

    class Recording:
        def __init__(self):
            self.asked = []

        def search(self, query):
            self.asked.append(query.typos)
            as_typed = query.text == "roadmap" or (query.text == "pipewise" and not query.filters)
            found = 1 if query.typos or as_typed else 0
            took = 5.0 if query.typos else 2.0
            return SearchResults(total=found, hits=[], facets={}, took_ms=took)

    for text, asked, total, took in (
        ("roadmap", [False], 1, 2.0),  # found as typed: once
        ("pricng", [False, True], 1, 7.0),  # nothing as typed: again within typos
        ("it", [False], 0, 2.0),  # too short for a typo: once
        ("", [False], 0, 2.0),
        # filtered: the words as typed are in assets the filter leaves out, so nothing is
        # found within typos either (the facet counts say where they are)
        ("pipewise stage=decide", [False, False], 0, 4.0),
        ("pricng stage=decide", [False, False, True], 1, 9.0),
    ):
        engine = Recording()
        text, _, stage = text.partition(" stage=")
        filters = {"stage": (stage,)} if stage else {}
        with use_engine(engine):
            results = search_run(
                query=SearchQuery(audience=REP, now=timezone.now(), text=text, filters=filters)
            )
        assert (engine.asked, results.total, results.took_ms) == (asked, total, took), text
