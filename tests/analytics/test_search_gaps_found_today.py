"""Search gaps: what the library finds today for each search that found nothing, so a lead can
tell a content gap (nothing exists: ask marketing) from an access gap (it exists but is
restricted from the rep's teams, or was published since: show it, do not ask for it again)."""

import csv
import html
import io
import logging
import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import RollupSnapshot
from analytics.rollups import gaps
from search.engines import use_engine
from search.services import index_assets, rep_search
from tests.analytics.helpers import refresh
from tests.factories import make_asset, make_section, make_team, make_user
from tests.search.conftest import (  # noqa: F401 - fixtures
    active_engine,
    down_engine,
    embedded_engine,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("active_engine")]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _searched(user, *texts: str) -> None:
    """``user`` searched each text on the search page (recorded as the page records it)."""
    client = _client(user)
    for text in texts:
        assert client.get(f"/search/?q={quote(text)}").status_code == 200


def _published(*assets) -> None:
    """Index them now: a test's transaction never commits, so the task a publish enqueues on
    commit does not run (until then searches leave the assets out)."""
    index_assets(asset_ids=[asset.pk for asset in assets])


def _zero_results_rows(body: str) -> dict[str, tuple[str, str]]:
    """What the lead reads in "Searches that found nothing": query -> (found today, action)."""
    table = body[body.index('id="zero-results"') : body.index('id="no-click"')]
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>\d+</td><td[^>]*>(.*?)</td><td>(.*?)</td></tr>", table
    )
    strip = re.compile(r"<[^>]+>")
    return {
        html.unescape(query): (html.unescape(strip.sub("", found)), action)
        for query, found, action in rows
    }


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode().removeprefix("\ufeff"))))


@pytest.fixture
def emea_rep():
    """A rep in North America; "Zephyrine plan" is for EMEA only."""
    emea, na = make_team("EMEA"), make_team("North America")
    rep = make_user("na_rep", role=REP, teams=[na])
    _published(make_asset("Zephyrine plan", summary="The zephyrine plan.", teams=[emea]))
    return rep


def test_a_search_nothing_answers_shows_nothing_and_offers_to_request_content():
    rep = make_user(role=REP)
    _published(make_asset("Pricing sheet", summary="Every price."))
    _searched(rep, "kaleidoscope rebates")
    refresh()
    body = _client(make_user(role=MARKETER)).get("/analytics/search-gaps/").content.decode()
    found, action = _zero_results_rows(body)["kaleidoscope rebates"]
    assert found == "Nothing"
    assert "Request content" in action and "/search/" not in action


def test_a_search_whose_only_matches_are_restricted_offers_the_search_not_a_request():
    emea, na = make_team("EMEA"), make_team("North America")
    rep = make_user(role=REP, teams=[na])
    one = make_asset("Zephyrine plan", summary="The zephyrine plan.", teams=[emea])
    section = make_section("EMEA only", teams=[emea])
    two = make_asset("Zephyrine pricing", parent=section, summary="Zephyrine prices.")
    _published(one, two)
    _searched(rep, "zephyrine")
    refresh()
    body = _client(make_user(role=ENABLEMENT_LEAD)).get("/analytics/search-gaps/").content.decode()
    found, action = _zero_results_rows(body)["zephyrine"]
    assert found == "2 assets, all restricted to some teams"
    assert "Request content" not in action
    assert 'href="/search/?q=zephyrine"' in action and "See the 2 assets" in action


def test_content_published_after_the_searches_is_counted():
    rep = make_user(role=REP)
    _searched(rep, "onboarding checklist", "onboarding checklist")
    asset = make_asset("Onboarding checklist", summary="Day one to day thirty.")
    _published(asset)
    refresh()
    gap = RollupSnapshot.objects.get(key="search_gaps").data["zero_results"][0]
    assert (gap["query"], gap["searches"]) == ("onboarding checklist", 2)
    assert (gap["found"], gap["found_open"]) == (1, 1)
    body = _client(make_user(role=MARKETER)).get("/analytics/search-gaps/").content.decode()
    found, action = _zero_results_rows(body)["onboarding checklist"]
    assert found == "1 asset"
    assert re.search(r"Counted \d+ \w+ \d{4} \d\d:\d\d\.", body)  # when it was counted
    assert "See the asset" in action and "Request content" not in action


def test_publishing_recounts_what_a_gap_finds_today_with_no_new_search():
    """The counts follow the library, not only the searches: a gap filled by publishing shows
    it at the next refresh, with no rep searching again and no new day."""
    rep = make_user(role=REP)
    _searched(rep, "renewal playbook")
    refresh()
    gap = RollupSnapshot.objects.get(key="search_gaps").data["zero_results"][0]
    assert (gap["query"], gap["found"]) == ("renewal playbook", 0)
    _published(make_asset("Renewal playbook", summary="Renew early."))
    refresh()
    gap = RollupSnapshot.objects.get(key="search_gaps").data["zero_results"][0]
    assert (gap["query"], gap["found"], gap["found_open"]) == ("renewal playbook", 1, 1)


def test_found_today_agrees_with_the_search_page_of_a_rep_in_no_team_and_a_marketer():
    emea = make_team("EMEA")
    open_ones = [make_asset(f"Churn playbook {n}", summary="Churn save plays.") for n in (1, 2)]
    restricted = make_asset("Churn EMEA playbook", summary="Churn in EMEA.", teams=[emea])
    section = make_section("EMEA only", teams=[emea])
    hidden = make_asset("Churn memo", parent=section, summary="Churn memo.")
    _published(*open_ones, restricted, hidden)
    no_team, marketer = make_user(role=REP), make_user(role=MARKETER)
    rep_of_no_team_found = rep_search(
        user=no_team, params={"q": "churn"}, source="web", record=False
    ).total
    marketer_found = rep_search(
        user=marketer, params={"q": "churn"}, source="web", record=False
    ).total
    assert (marketer_found, rep_of_no_team_found) == (4, 2)
    assert gaps.found_today("churn") == (marketer_found, rep_of_no_team_found)
    assert gaps.found_today("no such words anywhere") == (0, 0)


def test_engine_down_during_the_rollup_still_writes_the_gaps_without_counts(
    emea_rep,
    down_engine,  # noqa: F811
    caplog,
):
    _searched(emea_rep, "zephyrine")
    with use_engine(down_engine), caplog.at_level(logging.WARNING, logger=gaps.logger.name):
        refresh()
    assert "without what search finds today" in caplog.text
    snapshot = RollupSnapshot.objects.get(key="search_gaps")
    gap = snapshot.data["zero_results"][0]
    assert gap["query"] == "zephyrine" and "found" not in gap
    client = _client(make_user(role=MARKETER))
    found, action = _zero_results_rows(client.get("/analytics/search-gaps/").content.decode())[
        "zephyrine"
    ]
    assert found == "—" and "Request content" in action
    rows = _csv(client.get("/analytics/search-gaps/zero-results.csv"))
    assert rows[1] == ["zephyrine", "1", "zephyrine", "", ""]


def test_a_snapshot_from_before_the_counts_renders_without_them():
    RollupSnapshot.objects.create(
        key="search_gaps",
        window="90d",
        data={"zero_results": [{"query": "soc 2", "searches": 3}], "no_click": []},
        computed_at=timezone.now(),
    )
    client = _client(make_user(role=MARKETER))
    response = client.get("/analytics/search-gaps/")
    assert response.status_code == 200
    found, action = _zero_results_rows(response.content.decode())["soc 2"]
    assert found == "—" and "Request content" in action
    rows = _csv(client.get("/analytics/search-gaps/zero-results.csv"))
    assert rows[1] == ["soc 2", "3", "soc 2", "", ""]


def test_the_csv_of_searches_that_found_nothing_has_what_is_found_today(emea_rep):
    _searched(emea_rep, "kaleidoscope", "zephyrine", "roadmap", "roadmap", "roadmap")
    emea = make_team("EMEA 2")
    _published(  # after the searches
        make_asset("Roadmap one", summary="Roadmap."),
        make_asset("Roadmap two", summary="Roadmap.", teams=[emea]),
    )
    refresh()
    rows = _csv(_client(make_user(role=MARKETER)).get("/analytics/search-gaps/zero-results.csv"))
    assert rows == [
        ["query", "searches", "normalized_query", "found_today", "found_today_restricted"],
        ["roadmap", "3", "roadmap", "2", "1"],
        ["kaleidoscope", "1", "kaleidoscope", "0", "0"],
        ["zephyrine", "1", "zephyrine", "1", "1"],
    ]
    body = _client(make_user(role=MARKETER)).get("/analytics/search-gaps/").content.decode()
    assert _zero_results_rows(body)["roadmap"][0] == "2 assets (1 restricted to some teams)"


def test_what_reps_typed_is_escaped_in_the_found_today_link_and_the_csv(emea_rep):
    typed = '=<zephyrine> & "plan"'
    _searched(emea_rep, typed)
    refresh()
    client = _client(make_user(role=MARKETER))
    body = client.get("/analytics/search-gaps/").content.decode()
    assert "<zephyrine>" not in body
    found, action = _zero_results_rows(body)[typed]
    assert found == "1 asset, restricted to some teams"
    assert 'href="/search/?q=%3D%3Czephyrine%3E+%26+%22plan%22"' in action
    assert "&lt;zephyrine&gt; &amp; &quot;plan&quot;" in action  # its name for screen readers
    rows = _csv(client.get("/analytics/search-gaps/zero-results.csv"))
    assert rows[1] == ["'" + typed, "1", "zephyrine plan", "1", "1"]
