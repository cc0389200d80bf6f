"""The estimator's inputs made right: the webhook close path, stages read from the history when
the rollups run (late events, late history), closed deals without history, currencies, exact
import counts, and the attributes the lead may compare within."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD
from analytics import scope, selectors
from analytics.currency import Rates, money_text
from analytics.imports import deal_import_file
from analytics.models import CurrencyRate, Deal, DealAssetTouch, DealChanged, DealStageChange
from analytics.rollups import population
from analytics.services import DealInput, api_key_create, deal_upsert
from tests.analytics.helpers import refresh, send_events, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db
HEADER = "Opportunity ID,Opportunity Name,Amount,Stage,Close Date,Type\n"


def _import(text: str, **options):
    return deal_import_file(io.BytesIO(text.encode()), "report.csv", **options)


@pytest.fixture
def lead_key():
    return api_key_create(user=make_user(role=ENABLEMENT_LEAD), name="crm")[1]


def _stage(key, external_id, stage, when):
    return Client().post(
        f"/api/v1/deals/{external_id}/stages",
        json.dumps({"stage": stage, "entered_at": when}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


# --- The webhook close path -------------------------------------------------------------------


def test_closing_through_the_stage_webhook_sets_outcome_and_close_date(lead_key):
    walk_deal("W1", ["discover", "evaluate"])
    response = _stage(lead_key, "W1", "Closed Won", "2024-06-20T15:00:00Z")
    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["close_date"]) == ("won", "2024-06-20")


def test_reopening_clears_the_close_and_a_later_close_sets_it_again(lead_key):
    walk_deal("W2", ["discover", "evaluate"])
    _stage(lead_key, "W2", "Closed Lost", "2024-06-01T10:00:00Z")
    reopened = _stage(lead_key, "W2", "Proposal/Price Quote", "2024-06-05T10:00:00Z").json()
    assert (reopened["outcome"], reopened["close_date"]) == ("open", None)
    closed = _stage(lead_key, "W2", "Closed Won", "2024-06-25T10:00:00Z").json()
    assert (closed["outcome"], closed["close_date"]) == ("won", "2024-06-25")


def test_an_older_history_entry_does_not_reopen_a_closed_deal(lead_key):
    walk_deal("W3", ["discover", "evaluate"])
    _stage(lead_key, "W3", "Closed Won", "2024-06-20T10:00:00Z")
    late = _stage(lead_key, "W3", "Needs Analysis", "2024-05-20T10:00:00Z").json()
    assert (late["outcome"], late["close_date"]) == ("won", "2024-06-20")


def test_touches_count_before_the_final_close_only(lead_key):
    asset = make_asset("Deck", stages=("decide",))
    walk_deal("W4", ["discover", "evaluate"])
    _stage(lead_key, "W4", "Closed Lost", "2024-06-01T10:00:00Z")
    send_events(("t1", "used_in_deal", asset, "W4", date(2024, 6, 10)))  # after the 1st close
    refresh()
    assert not DealAssetTouch.objects.exists()  # closed on Jun 1: Jun 10 is after the close
    _stage(lead_key, "W4", "Proposal/Price Quote", "2024-06-05T10:00:00Z")
    _stage(lead_key, "W4", "Closed Won", "2024-06-25T10:00:00Z")
    send_events(("t2", "used_in_deal", asset, "W4", date(2024, 6, 28)))  # after the final one
    refresh()
    touch = DealAssetTouch.objects.get()
    assert touch.touches == 1 and touch.first_touch_at.date() == date(2024, 6, 10)
    assert touch.first_touch_stage_order == 2  # Decide: reopened into it on Jun 5


# --- Stages read from the history when the rollups run ----------------------------------------


def test_an_event_sent_before_its_history_is_counted_at_the_stage_the_history_gives():
    asset = make_asset("Guide", stages=("evaluate",))
    walk_deal("L1", ["discover"])
    send_events(("late", "used_in_deal", asset, "L1", date(2024, 5, 20)))
    refresh()
    assert DealAssetTouch.objects.get().first_touch_stage_order == 0  # Discover, so far
    # The history arrives later: the deal had entered Evaluate on May 15.
    _import("Opportunity ID,To Stage,Last Modified\nL1,Needs Analysis,2024-05-15\n", kind="history")
    refresh()
    assert DealAssetTouch.objects.get().first_touch_stage_order == 1  # Evaluate


def test_an_event_arriving_late_becomes_the_first_touch_at_its_own_stage():
    asset = make_asset("Guide", stages=("evaluate",))
    walk_deal("L2", ["discover", "evaluate", "decide"])
    send_events(("now", "asset_presented", asset, "L2", date(2024, 6, 20)))
    refresh()
    assert DealAssetTouch.objects.get().first_touch_stage_order == 2
    send_events(("old", "asset_shared", asset, "L2", date(2024, 5, 20)))  # happened earlier
    refresh()
    touch = DealAssetTouch.objects.get()
    assert (touch.touches, touch.first_touch_stage_order) == (2, 1)


def test_an_open_deals_new_touches_are_added_at_the_stage_of_their_own_moment(lead_key):
    """Touches arriving after a fill are added to an open deal's rows (no recomputation of the
    deal): each first touch is judged against the history, whatever the order things arrive
    in; hand-worked from the dates below, then checked against a full rebuild."""
    deck, guide, plan = (make_asset(name, stages=("decide",)) for name in ("D", "G", "P"))
    walk_deal("M1", ["evaluate", "decide"])  # Evaluate (1) May 15, Decide (2) Jun 15
    _stage(lead_key, "M1", "Closed Lost", "2024-06-20T10:00:00Z")  # no journey stage
    _stage(lead_key, "M1", "Proposal/Price Quote", "2024-06-25T10:00:00Z")  # reopened
    refresh()
    send_events(
        ("a", "used_in_deal", deck, "M1", date(2024, 4, 20)),  # before the history: Evaluate
        ("b", "asset_shared", guide, "M1", date(2024, 6, 16)),  # Decide
        ("c", "asset_presented", plan, "M1", date(2024, 6, 22)),  # closed then: first stage
        ("d", "asset_presented", plan, "M1", date(2024, 6, 28)),
    )
    assert not DealChanged.objects.exists()  # so the new touches are merged, not recomputed
    refresh()
    send_events(
        ("e", "used_in_deal", deck, "M1", date(2024, 5, 1)),  # later than deck's first
        ("f", "buyer_opened", guide, "M1", date(2024, 6, 1)),  # earlier: guide's first now
    )
    refresh()

    def rows():
        return {
            touch.asset_id: (
                touch.touches,
                touch.first_touch_at.date(),
                touch.first_touch_stage_order,
            )
            for touch in DealAssetTouch.objects.all()
        }

    merged = rows()
    assert merged == {
        deck.pk: (2, date(2024, 4, 20), 1),
        guide.pk: (2, date(2024, 6, 1), 1),
        plan.pk: (2, date(2024, 6, 22), 0),
    }
    refresh(full=True)
    assert rows() == merged


# --- Closed deals without history -------------------------------------------------------------


def test_closed_deals_without_history_are_flagged_and_left_out_of_estimates():
    report = _import(
        HEADER
        + "H1,Old win,1000,Closed Won,2024-03-31,SMB\n"
        + "H2,Old loss,500,Closed Lost,2024-03-31,SMB\n"
        + "H3,Open one,500,Prospecting,2030-03-31,SMB\n"
    )
    assert report.closed_without_history == 2
    walk_deal("H4", ["discover", "evaluate", "won"])
    refresh()
    overview = selectors.snapshot("overview", "all")
    assert overview["closed_deals"] == 3 and overview["without_history"] == 2
    assert sorted(overview["without_history_examples"]) == ["H1", "H2"]
    assert set(selectors.deals_without_history().values_list("external_id", flat=True)) == {
        "H1",
        "H2",
    }
    inputs = population.load()
    kept = [d for d in inputs.deals.values() if population.has_pipeline_history(d)]
    assert [d.external_id for d in kept] == ["H4"]
    # The synthetic history of a closed deal imported alone sits on its close day.
    entered = DealStageChange.objects.get(deal__external_id="H1").entered_at
    assert entered == datetime(2024, 3, 31, tzinfo=UTC)
    # Importing its history brings it back into the estimates.
    _import(
        "Opportunity ID,To Stage,Last Modified\nH1,Prospecting,2024-02-01\n"
        "H1,Needs Analysis,2024-03-01\n",
        kind="history",
    )
    refresh()
    assert selectors.snapshot("overview", "all")["without_history"] == 1


def test_the_export_of_deals_without_history_lists_those_of_the_period_shown():
    """ "11 closed deals have no stage history … export the list" on "Last 90 days" exported
    every such deal of all time."""
    recent = (date.today() - timedelta(days=10)).isoformat()
    _import(
        HEADER
        + "H1,Old win,1000,Closed Won,2024-03-31,SMB\n"
        + f"H2,Recent loss,500,Closed Lost,{recent},SMB\n"
    )
    walk_deal("H4", ["discover", "evaluate", "won"])
    refresh()
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    for window, listed in (("90d", ["H2"]), ("all", ["H1", "H2"])):
        page = client.get(f"/analytics/?window={window}").content.decode()
        notice = page[page.index('id="without-history"') :]
        assert f"{len(listed)} closed deal" in notice
        link = notice[notice.index('href="') + 6 : notice.index('">export the list')]
        export = client.get(link.replace("&amp;", "&"))
        rows = b"".join(export.streaming_content).decode().splitlines()[1:]
        assert [row.split(",")[0] for row in rows] == listed, window


def test_the_import_page_reports_closed_deals_without_history(django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    upload = io.BytesIO((HEADER + "H9,Old,1,Closed Won,2024-03-31,SMB\n").encode())
    upload.name = "report.csv"
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
        )
    page = client.get(posted.url)
    assert "1 closed deal in this file has no stage history" in page.content.decode()


# --- Currencies -------------------------------------------------------------------------------


def test_rates_convert_at_the_rate_valid_on_the_close_date():
    rates = Rates(
        [("EUR", date(2024, 1, 1), 1.10), ("EUR", date(2024, 7, 1), 1.20)], currency="USD"
    )
    assert rates.convert(100, "USD", date(2020, 1, 1)) == 100
    assert rates.convert(100, "EUR", date(2024, 6, 30)) == pytest.approx(110)
    assert rates.convert(100, "eur", date(2024, 7, 1)) == pytest.approx(120)
    assert rates.convert(100, "EUR", date(2023, 12, 31)) is None  # before any rate
    assert rates.convert(100, "GBP", date(2024, 6, 30)) is None
    assert money_text({"currency": "USD", "amount": 1200, "unconverted": {"GBP": 300}}) == (
        "USD 1,200 + GBP 300 (no rate)"
    )


def test_revenue_is_converted_per_deal_and_what_has_no_rate_is_kept_apart():
    asset = make_asset("Deck", stages=("evaluate",))
    CurrencyRate.objects.create(currency="EUR", valid_from=date(2024, 1, 1), rate=Decimal("1.5"))
    walk_deal("M1", ["discover", "evaluate", "won"], amount=1000, currency="EUR")
    walk_deal("M2", ["discover", "evaluate", "won"], amount=200, currency="USD")
    walk_deal("M3", ["discover", "evaluate", "won"], amount=700, currency="GBP")
    send_events(*[(f"m{i}", "used_in_deal", asset, f"M{i}", date(2024, 5, 20)) for i in (1, 2, 3)])
    refresh()
    numbers = selectors.asset_stats(asset.pk, window="all")
    assert numbers["currency"] == "USD"
    assert numbers["influenced_revenue"] == pytest.approx(1000 * 1.5 + 200)
    assert numbers["revenue_without_rate"]["GBP"]["influenced"] == 700
    assert numbers["attributed_linear"] == pytest.approx(1700)
    assert numbers["revenue_without_rate"]["GBP"]["linear"] == 700
    won = selectors.snapshot("overview", "all")["won_revenue"]
    assert won == {"currency": "USD", "amount": 1700.0, "unconverted": {"GBP": 700.0}}
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    page = client.get(f"/analytics/assets/{asset.pk}/?window=all").content.decode()
    assert "USD 1,700" in page and "GBP 700 (no rate)" in page
    overview = client.get("/analytics/?window=all").content.decode()
    assert "USD 1,700 + GBP 700 (no rate)" in overview and "for GBP" in overview


def test_a_new_rate_recomputes_the_revenue_without_any_new_event():
    asset = make_asset("Deck")
    walk_deal("M4", ["discover", "won"], amount=100, currency="CHF")
    send_events(("m4", "used_in_deal", asset, "M4", date(2024, 5, 5)))
    refresh()
    assert selectors.asset_stats(asset.pk, window="all")["influenced_revenue"] == 0
    CurrencyRate.objects.create(currency="CHF", valid_from=date(2024, 1, 1), rate=Decimal("2"))
    refresh()
    numbers = selectors.asset_stats(asset.pk, window="all")
    assert numbers["influenced_revenue"] == 200 and numbers["revenue_without_rate"] == {}


# --- Import counts ----------------------------------------------------------------------------


def test_deal_import_counts_created_updated_and_unchanged_exactly():
    first = _import(HEADER + "I1,A,100,Prospecting,2030-01-01,SMB\nI2,B,100,Prospecting,,SMB\n")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = _import(
        HEADER
        + "I1,A,100,Prospecting,2030-01-01,SMB\n"  # same
        + "I2,B,150,Prospecting,,SMB\n"  # amount changed
        + "I3,C,100,Prospecting,,SMB\n"  # new
    )
    assert (again.created, again.updated, again.unchanged) == (1, 1, 1)


def test_history_import_counts_each_deal_once_across_chunks(monkeypatch):
    from analytics import imports

    monkeypatch.setattr(imports, "CHUNK", 2)  # a deal's rows fall into different chunks
    _import(HEADER + "J1,A,1,Prospecting,,SMB\nJ2,B,1,Prospecting,,SMB\nJ3,C,1,Prospecting,,SMB\n")
    history = (
        "Opportunity ID,To Stage,Last Modified\n"
        "J1,Needs Analysis,2024-02-01\nJ1,Proposal/Price Quote,2024-03-01\n"
        "J2,Needs Analysis,2024-02-01\nJ1,Closed Won,2024-03-15\n"
    )
    report = _import(history, kind="history")
    assert (report.updated, report.unchanged, report.history_added) == (2, 0, 4)
    again = _import(history + "J3,Needs Analysis,2024-02-02\n", kind="history")
    assert (again.updated, again.unchanged, again.history_added) == (1, 2, 1)


# --- What the estimates compare within --------------------------------------------------------


def test_the_lead_picks_imported_attributes_to_compare_within():
    _import(
        "Opportunity ID,Stage,Region,Lead Source\n"
        "R1,Prospecting,EMEA,Web\nR2,Prospecting,APAC,Partner\n"
    )
    assert Deal.objects.get(external_id="R1").attributes == {"Region": "EMEA", "Lead Source": "Web"}
    choices = dict(scope.strata_choices())
    assert {"industry", "size_band", "attribute:Region", "attribute:Lead Source"} <= set(choices)
    client = Client()
    client.force_login(make_user(role=ENABLEMENT_LEAD))
    response = client.post("/analytics/strata/", {"strata": ["industry", "attribute:Region"]})
    assert response.status_code == 302
    assert scope.strata_chosen() == ["industry", "attribute:Region"]
    walk_deal("R3", ["discover", "won"], industry="Retail")
    stratum = population.load().deals[Deal.objects.get(external_id="R3").pk].stratum
    assert stratum[1:] == ("retail", "")  # owner first, then the picks in order
    refused = client.post("/analytics/strata/", {"strata": ["owner_password"]})
    assert refused.status_code == 302 and scope.strata_chosen() == [
        "industry",
        "attribute:Region",
    ]


def test_a_mapped_header_becomes_an_attribute_and_an_overlong_value_is_refused_by_cell():
    report = _import(
        "Opportunity ID,Stage,Territory\nA1,Prospecting,North\nA2,Prospecting," + "x" * 101 + "\n",
        mapping={"territory": "attribute"},
    )
    assert report.created == 1
    assert report.errors[0][:2] == (3, "Territory")
    assert Deal.objects.get(external_id="A1").attributes == {"Territory": "North"}


# --- One clock, exact ----------------------------------------------------------------------------


def test_deals_touched_at_the_same_moment_of_their_stay_are_never_each_others_comparisons():
    """An automation sends the overview deck one hour after every deal is created: no deal is
    untouched at that moment, so there is nothing to compare with. In fractional days the
    offset "one hour" came out a few ulps apart from one date to another, and an outside audit
    saw an asset used in every deal split into 1580 "treated" against 802 "comparison" deals
    and called "helps". Times are whole milliseconds now, so equal offsets are equal."""
    deck = make_asset("Overview deck", stages=("discover",))
    lead = make_user(role=ENABLEMENT_LEAD)
    start = datetime(2023, 1, 2, 8, 0, 0, 250000, tzinfo=UTC)
    events = []
    for number in range(60):
        # Spread over two years and the clock, as real deals are.
        created = start + timedelta(days=11 * number, minutes=37 * number, milliseconds=number)
        closed = created + timedelta(days=20)
        for stage, when in (
            ("Prospecting", created),
            ("Closed Won" if number % 2 else "Closed Lost", closed),
        ):
            deal_upsert(
                data=DealInput(
                    external_id=f"AUTO-{number}",
                    stage=stage,
                    amount=Decimal(1000),
                    close_date=closed.date() if stage.startswith("Closed") else None,
                    stage_changed_at=when,
                )
            )
        events.append(
            (f"auto-{number}", "used_in_deal", deck, f"AUTO-{number}", created + timedelta(hours=1))
        )
    send_events(*events, user=lead)
    refresh()

    inputs = population.load()
    offsets = set()
    for row in inputs.touches:
        entered = min(when for when, _ in inputs.deals[row.deal_id].history)
        offsets.add(row.first - entered)
    assert offsets == {3_600_000}  # one hour, in milliseconds, for every deal
    numbers = selectors.asset_stats(deck.pk, window="all")
    assert (numbers["usable_deals"], numbers["comparison_deals"]) == (0, 0)
    assert numbers["verdict"] == "not enough data"
