"""GET /api/v1/search and /api/v1/search/suggest: auth, features, errors, OpenAPI schema."""

import pytest
from wagtail.models import APIToken

from search import services
from search.models import SearchEvent
from tests.factories import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(active_engine, library, client):
    client.force_login(library.outsider)
    return client


def test_session_user_searches_with_facets_and_typo_tolerance(api, library):
    data = api.get("/api/v1/search", {"q": "battlecrad"}).json()
    assert data["total"] == 1
    hit = data["results"][0]
    assert (hit["id"], hit["title"], hit["type"], hit["stages"]) == (
        library.battlecard.pk,
        "Acme battlecard",
        ["battlecard"],
        ["decide"],
    )
    assert hit["click_url"] == f"/search/click/{data['search_id']}/{library.battlecard.pk}/?pos=1"
    assert data["facets"]["competitor"] == [
        {"value": "acme", "label": "Acme", "count": 1, "selected": False}
    ]
    event = SearchEvent.objects.get(key=data["search_id"])
    assert (event.source, event.user, event.result_count) == ("api", library.outsider, 1)
    assert data["within_typos"] is True  # "battlecrad" is in no asset as typed
    assert api.get("/api/v1/search", {"q": "battlecard"}).json()["within_typos"] is False


def test_bearer_token_acts_as_its_user_with_their_permissions(active_engine, library, client):
    _, outsider_token = APIToken.create_token(user=library.outsider, name="crm")
    _, insider_token = APIToken.create_token(user=library.insider, name="crm")
    outsider = client.get(
        "/api/v1/search", {"q": "zephyrine"}, HTTP_AUTHORIZATION=f"Bearer {outsider_token}"
    )
    insider = client.get(
        "/api/v1/search", {"q": "zephyrine"}, HTTP_AUTHORIZATION=f"Bearer {insider_token}"
    )
    assert outsider.status_code == insider.status_code == 200
    assert outsider.json()["total"] == 0
    assert [hit["title"] for hit in insider.json()["results"]] == ["Zephyrine secret plan"]


def test_missing_revoked_or_wrong_credentials_get_401(active_engine, library, client):
    token, raw = APIToken.create_token(user=library.insider, name="old")
    token.revoke()
    assert client.get("/api/v1/search", {"q": "x"}).status_code == 401
    assert client.get("/api/v1/search", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get("/api/v1/search", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_filters_sort_pages_and_deal_mode(api):
    data = api.get(
        "/api/v1/search",
        {"stage": ["decide", "evaluate"], "sort": "newest", "per_page": 1, "page": 2},
    ).json()
    assert (data["total"], data["pages"], data["page"], len(data["results"])) == (2, 2, 2, 1)
    deal = api.get("/api/v1/search", {"deal_stage": "decide", "deal_competitor": "acme"}).json()
    assert deal["results"][0]["reasons"] == ["Decide stage", "Against Acme"]


def test_bad_parameters_get_400_naming_them(api):
    response = api.get("/api/v1/search", {"sort": "loudest"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "sort must be one of relevance, newest, effective, got 'loudest'"
    }
    for name, value in [("page", "x"), ("page", "1e3"), ("per_page", "abc"), ("page", "9" * 5000)]:
        response = api.get("/api/v1/search", {name: value})
        assert response.status_code == 400, (name, value)
        assert response.json()["detail"].startswith(f"{name} must be a whole number, got ")
    assert api.get("/api/v1/search", {"per_page": "2"}).json()["per_page"] == 2
    past = api.get("/api/v1/search", {"q": "roadmap", "page": "3"})
    assert (past.status_code, past.json()) == (
        400,
        {"detail": "page 3 is past the last page of this search (1)"},
    )


def test_highlights_in_json_escape_everything_but_marks(api):
    hit = api.get("/api/v1/search", {"q": "handlers"}).json()["results"][0]
    assert hit["title"].startswith("<script>")  # data, not markup: clients must escape it
    assert "&lt;img src=x onerror=alert(1)&gt;" in hit["highlight"]
    assert "<mark>handlers</mark>" in hit["highlight"]


def test_suggest_endpoint_respects_permissions(api, library, client):
    assert api.get("/api/v1/search/suggest", {"q": "zephy"}).json() == {"suggestions": []}
    client.force_login(library.insider)
    labels = [
        s["label"]
        for s in client.get("/api/v1/search/suggest", {"q": "zephy"}).json()["suggestions"]
    ]
    assert labels == ["Zephyrine secret plan"]


def test_openapi_schema_describes_search(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/search"]["get"]
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"q", "stage", "type", "competitor", "sort", "page", "deal_stage"} <= parameters
    assert set(operation["responses"]) >= {"200", "400", "503"}
    assert "/api/v1/search/suggest" in schema["paths"]
    assert {"BearerTokenAuth", "SessionAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("text", ["🚚", "((((", "%"])
def test_text_with_no_searchable_word_gets_zero_hits_and_a_reason(api, text):
    data = api.get("/api/v1/search", {"q": text}).json()
    assert (data["total"], data["results"]) == (0, [])
    assert data["reason"] == f"no searchable words in “{text}”"
    assert all(buckets == [] for buckets in data["facets"].values())
    assert api.get("/api/v1/search", {"q": "roadmap"}).json()["reason"] is None


def test_a_facet_or_deal_value_that_names_no_term_is_a_400_naming_it(api, library):
    """It answered "nothing matches" (a stage filter) or was ignored (a deal field), where a
    malformed value got a 400: a rep following an old link learns the term is gone."""
    import html

    from cms.models import Competitor

    for params, detail in [
        ({"stage": ["decide", "nonexistent"]}, "stage: no stage 'nonexistent'"),
        ({"q": "acme", "deal_competitor": "initrode"}, "deal_competitor: no competitor 'initrode'"),
    ]:
        response = api.get("/api/v1/search", params)
        assert (response.status_code, response.json()) == (400, {"detail": detail})
        page = api.get("/search/", params)
        assert page.status_code == 400 and detail in html.unescape(page.content.decode())
    assert api.get("/api/v1/search", {"stage": "decide"}).json()["total"] == 1
    # A term saved by another process (no signal here) is found on a second look.
    api.get("/api/v1/search", {"competitor": "acme"})
    Competitor.objects.bulk_create([Competitor(name="Initrode", slug="initrode")])
    response = api.get("/api/v1/search", {"competitor": "initrode"})
    assert (response.status_code, response.json()["total"]) == (200, 0)


def test_suggestions_refuse_text_longer_than_a_search_takes(api, library, client):
    """The search answered 400 over 200 characters; its suggestions took 12 KB (outside
    audit). Both the page's JSON and the API's now say so, naming the limit."""
    client.force_login(library.insider)
    too_long = "pricing " * 30  # 240 characters
    for url in ("/search/suggest/", "/api/v1/search/suggest"):
        response = client.get(url, {"q": too_long})
        assert response.status_code == 400
        assert response.json()["detail"] == (
            "The search text (q) is 240 characters long; a search takes at most 200. "
            "Shorten it and search again."
        )
        assert client.get(url, {"q": too_long[:200]}).status_code == 200


def test_an_answer_tells_nothing_of_restricted_assets_sharing_its_words(api, library):
    """A hit's relevance score comes from statistics over the whole index, restricted assets
    included: publishing an asset the rep may not see changed the scores of what they do
    see, so a rep could tell that restricted content with a word exists or changed."""

    def seen():
        hits = api.get("/api/v1/search", {"q": "roadmap"}).json()["results"]
        return [{k: v for k, v in hit.items() if k != "click_url"} for hit in hits]

    before = seen()
    assert {hit["title"] for hit in before} == {"Roadmap briefing", "Analyst notes"}
    secret = make_asset(
        "Roadmap roadmap", parent=library.restricted.get_parent(), summary="roadmap " * 20
    )
    services.index_assets(asset_ids=[secret.pk])
    assert seen() == before


def test_a_parameter_the_endpoint_does_not_take_is_a_400_naming_it(api, library):
    """``stages=decide`` (for ``stage``) answered every stage's assets as if filtered."""
    filtered = api.get("/api/v1/search", {"q": "roadmap", "stage": "decide"})
    assert filtered.status_code == 200
    for path, params in [
        ("/api/v1/search", {"q": "roadmap", "stages": "decide"}),
        ("/api/v1/search/suggest", {"q": "road", "limit": "5"}),
    ]:
        response = api.get(path, params)
        assert response.status_code == 400, path
        detail = response.json()["detail"]
        wrong = next(name for name in params if name not in ("q",))
        assert detail.startswith(f"{wrong}: not a parameter of GET {path}; it takes q"), detail
    assert "stage, pillar" in api.get("/api/v1/search", {"x": "1"}).json()["detail"]
    before = SearchEvent.objects.count()
    api.get("/api/v1/search", {"q": "roadmap", "stages": "decide"})
    assert SearchEvent.objects.count() == before  # a refused search is not recorded
