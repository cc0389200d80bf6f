"""Incremental fills equal a full rebuild, whatever the order things arrive in, and a fill that
dies half-way is redone without counting anything twice.

The property test replays random streams of deal changes (created, moved, closed, reopened,
history arriving late) and usage events (touches and views, some late, some after the close)
through the services the API and the app use, with incremental fills at random points; then
the tables must equal what ``update_analytics --full`` makes of the same data, and what one
incremental fill from nothing makes of it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import ENABLEMENT_LEAD
from analytics.models import (
    AssetReach,
    AssetStats,
    AssetUsage,
    Deal,
    DealAssetTouch,
    FillState,
    RollupSnapshot,
    UsageChange,
    UsageDaily,
    UsageEvent,
)
from analytics.rollups import fill, sql, usage
from analytics.rollups.fill import rollups_fill
from analytics.scope import WINDOWS
from analytics.services import DealInput, deal_stage_change, deal_upsert
from analytics.usage import EventInput
from analytics.usage import usage_record_batch as record
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

STAGES = ["Prospecting", "Needs Analysis", "Proposal/Price Quote", "Closed Won", "Closed Lost"]
KINDS = ["used_in_deal", "asset_shared", "asset_presented", "buyer_opened", "asset_viewed"]
DEALS = 4


def tables() -> dict:
    """Every rollup's rows (snapshots without their computation time)."""
    return {
        "touches": sorted(
            DealAssetTouch.objects.values_list(
                "deal_id",
                "asset_id",
                "touches",
                "first_touch_at",
                "first_touch_stage_order",
                "credit_first",
                "credit_last",
                "credit_linear",
                "credit_u_shaped",
                "credit_time_decay",
            )
        ),
        "daily": sorted(UsageDaily.objects.values_list("asset_id", "day", "kind", "count")),
        "reach": sorted(
            AssetReach.objects.values_list("asset_id", "actor", "actor_id", "last_day")
        ),
        "usage": sorted((r.asset_id, r.window, repr(r.data)) for r in AssetUsage.objects.all()),
        "stats": sorted(
            (r.asset_id, r.window, r.verdict, repr(r.data)) for r in AssetStats.objects.all()
        ),
        "snapshots": sorted(
            (r.key, r.window, repr(r.data))
            for r in RollupSnapshot.objects.exclude(key__startswith="view:")
        ),
    }


_NOW = timezone.now().replace(microsecond=0)  # read once: a test that asks twice must agree


def _moment(day: int, hour: int):
    return _NOW - timedelta(days=120 - day, hours=hour)


operation = st.one_of(
    st.tuples(
        st.just("deal"),
        st.integers(0, DEALS - 1),
        st.sampled_from(STAGES),
        st.integers(0, 100),
        st.sampled_from(["USD", "EUR"]),
        st.sampled_from(["Enterprise", "SMB"]),
    ),
    st.tuples(
        st.just("stage"),
        st.integers(0, DEALS - 1),
        st.sampled_from(STAGES),
        st.integers(0, 100),
    ),
    st.tuples(
        st.just("events"),
        st.lists(
            st.tuples(
                st.sampled_from(KINDS),
                st.integers(0, 2),
                st.one_of(st.none(), st.integers(0, DEALS - 1)),
                # mostly within the deals' lives; sometimes 220 or 420 days ago, so that reps
                # and deals cross the 90-day and 12-month windows' edges between fills
                st.one_of(st.integers(0, 110), st.sampled_from([-100, -300])),
            ),
            min_size=1,
            max_size=6,
        ),
    ),
    st.tuples(st.just("fill")),
)


@pytest.fixture
def world():
    assets = [
        make_asset("Deck", stages=("discover",)),
        make_asset("Guide", stages=("evaluate",), pillars=("why-buy-you",)),
        make_asset("Plan", stages=("decide",), pillars=("why-buy-now",)),
    ]
    return assets, make_user(role=ENABLEMENT_LEAD)


def _apply(op, assets, lead, counter) -> None:
    if op[0] == "deal":
        _, deal, stage, day, currency, segment = op
        deal_upsert(
            data=DealInput(
                external_id=f"P{deal}",
                stage=stage,
                amount=Decimal(1000 + 100 * deal),
                currency=currency,
                segment=segment,
                stage_changed_at=_moment(day, 3),
            )
        )
    elif op[0] == "stage":
        _, deal, stage, day = op
        found = Deal.objects.filter(external_id=f"P{deal}").first()
        if found is not None:
            deal_stage_change(deal=found, stage=stage, entered_at=_moment(day, 5))
    elif op[0] == "events":
        known = set(Deal.objects.values_list("external_id", flat=True))
        batch = []
        for kind, asset, deal, day in op[1]:
            counter[0] += 1
            external = f"P{deal}" if deal is not None and f"P{deal}" in known else ""
            batch.append(
                EventInput(
                    idempotency_key=f"e{counter[0]}",
                    kind=kind,
                    asset_id=assets[asset].pk,
                    deal_external_id=external,
                    occurred_at=_moment(day, 7),
                )
            )
        result = record(events=batch, user=lead)
        assert not result.errors, result.errors
    else:
        rollups_fill()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=14))
def test_incremental_fills_equal_a_full_rebuild_for_any_event_stream(world, operations):
    assets, lead = world
    with transaction.atomic():
        counter = [0]
        for op in operations:
            _apply(op, assets, lead, counter)
        rollups_fill()
        incremental = tables()
        rollups_fill(full=True)
        assert tables() == incremental
        # and one incremental fill from nothing (every table emptied, fill states forgotten)
        for model in (DealAssetTouch, UsageDaily, AssetReach, AssetUsage, AssetStats):
            model.objects.all().delete()
        RollupSnapshot.objects.all().delete()
        FillState.objects.all().delete()
        rollups_fill()
        assert tables() == incremental
        transaction.set_rollback(True)


def _data(assets, lead, keys: range, day: int = 30):
    deal_upsert(data=DealInput(external_id="C1", stage="Prospecting"))
    events = [
        EventInput(
            idempotency_key=f"c{key}",
            kind=KINDS[key % len(KINDS)],
            asset_id=assets[key % 3].pk,
            deal_external_id="C1" if key % 2 else "",
            occurred_at=_moment(day + key % 20, 7),
        )
        for key in keys
    ]
    assert not record(events=events, user=lead).errors


def _counted_once():
    """UsageDaily holds every event exactly once."""
    total = sum(UsageDaily.objects.values_list("count", flat=True))
    assert total == UsageEvent.objects.exclude(asset=None).count()


def test_a_crash_in_the_middle_of_an_incremental_fill_is_redone_without_counting_twice(
    world, monkeypatch
):
    assets, lead = world
    _data(assets, lead, range(0, 10))
    rollups_fill()
    _data(assets, lead, range(10, 40))
    monkeypatch.setattr(fill, "EVENT_STEP", 7)  # several steps per rollup
    original, calls = fill._commit, []

    def dies_on_the_third_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker was killed")
        return original(*args, **kwargs)

    with mock.patch.object(fill, "_commit", dies_on_the_third_step):
        with pytest.raises(RuntimeError):
            rollups_fill()
    crashed = FillState.objects.get(rollup="deal_asset_touches")
    assert crashed.state == FillState.STARTED  # the next run knows it died
    assert 0 < crashed.filled_until < crashed.target  # two steps committed, the rest not
    log = []
    rollups_fill(log=log.append)
    assert any("did not finish; redoing it" in line for line in log)
    _counted_once()
    after = tables()
    rollups_fill(full=True)
    assert tables() == after
    assert set(FillState.objects.values_list("state", flat=True)) == {FillState.DONE}


def test_a_crash_during_a_full_rebuild_makes_the_next_run_rebuild_again(world, monkeypatch):
    assets, lead = world
    _data(assets, lead, range(0, 30))
    rollups_fill()
    expected = tables()
    UsageDaily.objects.update(count=99)  # damage a table, so the rebuild has work to do
    monkeypatch.setattr(usage, "STEP_ROWS", 2)  # and make it write in several transactions
    original, calls = sql.upsert_rows, []

    def dies_on_the_third_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the machine lost power")
        return original(*args, **kwargs)

    with mock.patch.object(sql, "upsert_rows", dies_on_the_third_write):
        with pytest.raises(RuntimeError):
            rollups_fill(full=True)
    state = FillState.objects.get(rollup="usage_daily")
    assert (state.state, state.mode) == (FillState.STARTED, "full")
    assert UsageDaily.objects.filter(count=99).exists()  # half reconciled
    rollups_fill()  # not asked for --full: it finishes the interrupted rebuild by itself
    assert tables() == expected
    _counted_once()


def test_a_rebuild_redone_after_all_its_writes_still_refreshes_what_depends_on_it(
    world, monkeypatch
):
    """A full rebuild dies after writing every row but before recording that it is done. The
    next run redoes it, finds nothing left to write, and must still recompute the per-window
    sums that read those rows (they were not recomputed before the crash)."""
    assets, lead = world
    _data(assets, lead, range(0, 30))
    rollups_fill()
    expected = tables()
    UsageDaily.objects.update(count=99)
    AssetUsage.objects.update(data={})  # the sums as they were computed from the damage
    original = fill._mark_done

    def dies_before_usage_daily_is_done(state, **kwargs):
        if state.rollup == "usage_daily" and state.mode == "full":
            raise RuntimeError("the worker was killed")
        return original(state, **kwargs)

    with mock.patch.object(fill, "_mark_done", dies_before_usage_daily_is_done):
        with pytest.raises(RuntimeError):
            rollups_fill(full=True)
    assert not UsageDaily.objects.filter(count=99).exists()  # every row was written
    rollups_fill()
    assert tables() == expected


def test_events_named_after_the_last_fill_are_counted_by_the_next(world):
    assets, lead = world
    _data(assets, lead, range(0, 5))
    rollups_fill()
    _data(assets, lead, range(5, 9), day=2)  # late: they happened before the first ones
    counts = rollups_fill()
    assert counts["usage_daily"] > 0
    _counted_once()
    first = DealAssetTouch.objects.get(deal__external_id="C1", asset_id=assets[1].pk)
    assert first.first_touch_at == _moment(2 + 7, 7)  # the late event (key 7) is first now


def _per_window(asset, field: str) -> list[int]:
    rows = AssetUsage.objects.filter(asset_id=asset.pk)
    data = {row.window: row.data for row in rows}
    return [data[window][field] for window in WINDOWS]


def test_per_window_sums_follow_reps_and_deals_across_window_edges_between_fills(world):
    """Hand-counted: a rep and a deal seen 200 days ago (inside 12 months, outside 90 days)
    join the 90-day counts when they come back, and one seen 400 days ago joins the 12-month
    counts when it is seen 100 days ago; views count in the windows their days fall in."""
    (deck, guide, _), lead = world
    deal_upsert(data=DealInput(external_id="W1", stage="Prospecting"))

    def events(*rows):
        batch = [
            EventInput(
                idempotency_key=f"w-{asset.pk}-{kind}-{ago}",
                kind=kind,
                asset_id=asset.pk,
                deal_external_id="W1",
                occurred_at=_NOW - timedelta(days=ago),
            )
            for asset, kind, ago in rows
        ]
        assert not record(events=batch, user=lead).errors

    events((deck, "asset_presented", 200), (guide, "asset_viewed", 400))
    rollups_fill()  # windows: 90 days, 12 months, all time
    assert _per_window(deck, "distinct_reps") == [0, 1, 1]
    assert _per_window(guide, "distinct_deals") == [0, 0, 1]
    events((deck, "asset_presented", 10), (guide, "asset_viewed", 100), (guide, "asset_viewed", 5))
    rollups_fill()
    assert _per_window(deck, "distinct_reps") == [1, 1, 1]
    assert _per_window(deck, "distinct_deals") == [1, 1, 1]
    assert _per_window(deck, "presented") == [1, 2, 2]
    assert _per_window(guide, "distinct_deals") == [1, 1, 1]
    assert _per_window(guide, "views") == [1, 2, 3]
    incremental = tables()
    rollups_fill(full=True)
    assert tables() == incremental


def _on(moment):
    """Fills run as if it were ``moment`` (their windows end that day)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_refresh_within_the_day_adds_what_changed_without_summing_every_row(world):
    """After the first fill of the day, the per-window sums come from the recorded changes:
    the fill must not need the query that sums every UsageDaily and AssetReach row."""
    assets, lead = world
    _data(assets, lead, range(0, 10))
    with _on(_NOW):
        rollups_fill()
    _data(assets, lead, range(10, 25))
    with _on(_NOW), mock.patch.object(usage, "usage_numbers", side_effect=AssertionError):
        rollups_fill()
    assert not UsageChange.objects.exists()  # every change was read once
    incremental = tables()
    with _on(_NOW):
        rollups_fill(full=True)
    assert tables() == incremental


def test_per_window_sums_are_recomputed_when_the_day_moves_on(world):
    """A view 89 days old is inside the 90-day window today (today and the 89 days before)
    and outside it tomorrow, even when tomorrow's fill has changes of other assets to add; one
    90 days old is outside it already."""
    (deck, guide, _), lead = world

    def view(asset, key, when):
        event = EventInput(idempotency_key=key, kind="asset_viewed", asset_id=asset.pk)
        event.occurred_at = when
        assert not record(events=[event], user=lead).errors

    view(deck, "old", _NOW - timedelta(days=89))
    view(guide, "older", _NOW - timedelta(days=90))
    with _on(_NOW):
        rollups_fill()
    assert _per_window(deck, "views") == [1, 1, 1]
    assert _per_window(guide, "views") == [0, 1, 1]
    view(guide, "new", _NOW)
    tomorrow = _NOW + timedelta(days=1)
    with _on(tomorrow):
        rollups_fill()
    assert _per_window(deck, "views") == [0, 1, 1]
    assert _per_window(guide, "views") == [1, 2, 2]
    incremental = tables()
    with _on(tomorrow):
        rollups_fill(full=True)
    assert tables() == incremental


def test_a_crash_while_adding_changes_leaves_them_for_the_next_fill(world):
    assets, lead = world
    _data(assets, lead, range(0, 10))
    with _on(_NOW):
        rollups_fill()
    _data(assets, lead, range(10, 30))
    original = fill._mark_done

    def dies_before_asset_usage_is_done(state, **kwargs):
        if state.rollup == "asset_usage":
            raise RuntimeError("the worker was killed")
        return original(state, **kwargs)

    with _on(_NOW), mock.patch.object(fill, "_mark_done", dies_before_asset_usage_is_done):
        with pytest.raises(RuntimeError):
            rollups_fill()
    assert UsageChange.objects.exists()  # rolled back with the sums: not lost, not applied
    with _on(_NOW):
        rollups_fill()
    incremental = tables()
    with _on(_NOW):
        rollups_fill(full=True)
    assert tables() == incremental
