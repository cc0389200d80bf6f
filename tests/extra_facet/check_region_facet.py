"""Run under ``tests.settings_extra_facet`` (by tests/search/test_adding_a_facet.py): the one
"region" entry added to ``cms.taxonomy.FACETS`` reaches search results, facet counts, deal
mode, the API (parameters, results, schema), the search page's filters, the library
listing's filter form, the admin's taxonomy snippets and the marketers' permissions, on the
embedded engine, OpenSearch (OPENSEARCH_TEST_URL) and Elasticsearch (ELASTICSEARCH_TEST_URL).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import MARKETER, REP
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.extra_facet.models import Region
from tests.factories import make_asset, make_user
from tests.search.conftest import server_engine

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["embedded", "opensearch", "elasticsearch"])
def engine(request):
    if request.param == "embedded":
        directory = Path(tempfile.mkdtemp(prefix="facet-test-"))
        request.addfinalizer(lambda: shutil.rmtree(directory, ignore_errors=True))
        engine = EmbeddedEngine(path=directory / "index")
    else:
        variable = f"{request.param.upper()}_TEST_URL"
        engine = server_engine(variable, request.param, request)
    engine.reset()
    with use_engine(engine):
        yield engine


@pytest.fixture
def library(engine, client, django_capture_on_commit_callbacks):
    """Two assets tagged with a region each (before they are published, which indexes them
    through the real signals), one untagged."""
    emea, apac = Region.objects.create(name="EMEA"), Region.objects.create(name="APAC")
    with django_capture_on_commit_callbacks(execute=True):
        assets = SimpleNamespace(
            emea=make_asset("GDPR briefing", publish=False, summary="Data residency briefing."),
            apac=make_asset("Singapore launch", publish=False, summary="Data residency launch."),
            none=make_asset("Global pricing", publish=False, summary="Data residency pricing."),
        )
        emea.assets.add(assets.emea)
        apac.assets.add(assets.apac)
        for asset in vars(assets).values():
            asset.save_revision().publish()
    client.force_login(make_user("rep", role=REP))
    return assets


def test_the_region_filter_narrows_results_and_hits_carry_their_region(library, client):
    data = client.get("/api/v1/search", {"q": "residency", "region": "emea"}).json()
    assert [hit["title"] for hit in data["results"]] == ["GDPR briefing"]
    assert data["results"][0]["regions"] == ["emea"]


def test_region_facet_counts_with_their_labels(library, client):
    data = client.get("/api/v1/search", {"q": "residency"}).json()
    assert data["total"] == 3
    counts = {
        bucket["value"]: (bucket["label"], bucket["count"]) for bucket in data["facets"]["region"]
    }
    assert counts == {"apac": ("APAC", 1), "emea": ("EMEA", 1)}
    narrowed = client.get("/api/v1/search", {"q": "residency", "region": "apac"}).json()
    selected = [b["value"] for b in narrowed["facets"]["region"] if b["selected"]]
    assert selected == ["apac"] and narrowed["total"] == 1


def test_deal_mode_ranks_and_explains_by_region(library, client):
    data = client.get("/api/v1/search", {"q": "residency", "deal_region": "apac"}).json()
    assert data["results"][0]["title"] == "Singapore launch"
    assert data["results"][0]["reasons"] == ["APAC region"]


def test_the_api_schema_names_the_region_parameters_and_field(library, client):
    schema = client.get("/api/v1/openapi.json").json()
    names = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"region", "deal_region"} <= names
    assert "regions" in schema["components"]["schemas"]["HitOut"]["properties"]


def test_the_search_page_offers_region_filters_deal_mode_and_card_labels(library, client):
    html = client.get("/search/", {"q": "residency"}).content.decode()
    assert '<section class="facet" data-facet="region">' in html
    assert "<h3>Region</h3>" in html  # each facet group is an h3 under "Filters"
    assert re.search(r'href="/search/\?q=residency&amp;region=apac"[^>]*data-value="apac"', html)
    assert '<select id="deal-region" name="deal_region">' in html
    assert '<span class="chip chip-region">EMEA</span>' in html
    page = client.get("/search/", {"q": "residency", "region": "emea"}).content.decode()
    assert "1 result for" in page and "GDPR briefing" in page and "Singapore" not in page


def test_the_library_listing_filters_by_region(library, client):
    html = client.get("/").content.decode()
    assert '<select id="filter-region" name="region"' in html
    assert '<option value="apac">APAC</option>' in html
    filtered = client.get("/", {"region": "apac"}).content.decode()
    assert "Singapore launch" in filtered and "GDPR briefing" not in filtered


def test_marketers_manage_regions_in_the_admin_taxonomy(library):
    marketers = Group.objects.get(name=MARKETER)
    assert marketers.permissions.filter(
        content_type__app_label="extra_facet", codename="change_region"
    ).exists()
    assert reverse("wagtailsnippets_extra_facet_region:list")
