"""The Elasticsearch/OpenSearch request bodies, checked without a server (the engine suite
checks their behaviour against a real node)."""

from django.utils import timezone

from search.engines.elastic import ANALYSIS, index_body, search_body, suggest_body
from search.query import Audience, DealContext, SearchQuery


def _query(**options):
    return SearchQuery(audience=Audience(team_ids=frozenset({4})), now=timezone.now(), **options)


def test_every_query_filters_by_audience_and_expiry():
    body = search_body(_query(text="pricing"), "assets").to_dict()
    filters = body["query"]["bool"]["filter"]
    assert {"terms": {"audience": ["all", "team:4"]}} in filters
    assert any("range" in clause and "expire_at" in clause["range"] for clause in filters)


def test_managers_are_not_filtered_by_audience():
    query = SearchQuery(audience=Audience(team_ids=None), now=timezone.now())
    filters = search_body(query, "assets").to_dict()["query"]["bool"]["filter"]
    assert not any("terms" in clause for clause in filters)


def test_facet_filters_are_post_filters_and_each_facet_ignores_its_own():
    body = search_body(_query(filters={"stage": ("decide",)}), "assets").to_dict()
    assert body["post_filter"] == {"bool": {"filter": [{"terms": {"stages": ["decide"]}}]}}
    assert body["aggs"]["within_stage"]["filter"] == {"bool": {}}  # no other filter
    assert body["aggs"]["within_type"]["filter"] == {
        "bool": {"filter": [{"terms": {"stages": ["decide"]}}]}
    }


def test_highlights_use_the_private_markers_and_deal_context_boosts():
    body = search_body(_query(text="x y", deal=DealContext(stage="decide")), "a").to_dict()
    assert body["highlight"]["pre_tags"] == ["\u200b\x02"]  # see elastic.PRE_TAG
    assert {"constant_score": {"filter": {"term": {"stages": "decide"}}, "boost": 12.0}} in body[
        "query"
    ]["bool"]["should"]


def test_suggest_body_needs_a_word_and_filters_by_audience():
    assert suggest_body("  ", Audience(team_ids=frozenset()), 0, 5, "a") is None
    body = suggest_body("acme batt", Audience(team_ids=frozenset()), 0, 5, "a").to_dict()
    assert {"terms": {"audience": ["all"]}} in body["query"]["bool"]["filter"]


def test_mapping_defines_stemmed_plain_and_prefix_fields():
    body = index_body()
    title = body["mappings"]["properties"]["title"]
    assert title["analyzer"] == "words_stemmed"
    assert set(title["fields"]) == {"plain", "prefix"}
    analysis = body["settings"]["analysis"]
    assert {"title_prefix", "words_plain", "words_phrase"} <= set(analysis["analyzer"])
    # a word is a run of letters and digits, as tantivy's simple tokenizer and the query's
    assert analysis["tokenizer"]["words"]["type"] == "pattern"
    assert body["mappings"]["_meta"] == {"analysis": ANALYSIS}
    assert body["mappings"]["properties"]["audience"] == {"type": "keyword"}
