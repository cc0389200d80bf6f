"""A deals file and its Opportunity History, imported in either order and again: the stage
history the lead exports is the CRM's, without the deals file's stand-in entries beside it
(outside audit 46, F4)."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import Deal, DealStageChange
from analytics.services import deal_stage_change

pytestmark = pytest.mark.django_db

DEALS = "Opportunity ID,Opportunity Name,Amount,Stage,Close Date\n"
HISTORY = "Opportunity ID,Stage,Date\n"


def _import(tmp_path, text: str, *, history: bool = False, at: str | None = None) -> None:
    """``manage.py import_deals [--history]`` of ``text``, run at the moment ``at`` (UTC)."""
    path = tmp_path / ("history.csv" if history else "deals.csv")
    path.write_text(text, encoding="utf-8")
    options = ["--history"] if history else []
    if at is None:
        call_command("import_deals", str(path), *options, stdout=io.StringIO())
        return
    with pytest.MonkeyPatch.context() as patch:
        moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
        patch.setattr(timezone, "now", lambda: moment)
        call_command("import_deals", str(path), *options, stdout=io.StringIO())


def _exported_history(tmp_path) -> list[tuple[str, str, str]]:
    """``manage.py export_analytics history`` over every date: (deal, stage, entered at)."""
    out = tmp_path / "export.csv"
    call_command(
        "export_analytics", "history", "--from", "2000-01-01", "--to", "2100-12-31",
        "--output", str(out), stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    with out.open(encoding="utf-8") as stream:
        return [(r["deal_id"], r["stage"], r["entered_at"][:16]) for r in csv.DictReader(stream)]


def test_a_deals_file_then_its_history_exports_only_the_historys_entries(tmp_path):
    """The order README gives: an open deal's stage from the deals file was recorded at the
    moment of that import; the history dates the stage, so that entry goes."""
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Proposal/Price Quote,2026-12-31\n")
    assert [s for _, s, _ in _exported_history(tmp_path)] == ["Proposal/Price Quote"]
    history = (
        HISTORY + "AUD-1,Prospecting,2026-10-01T09:00:00\n"
        "AUD-1,Needs Analysis,2026-10-20T10:30:00\n"
        "AUD-1,Proposal/Price Quote,2026-11-30T06:23:06\n"
    )
    _import(tmp_path, history, history=True)
    expected = [
        ("AUD-1", "Prospecting", "2026-10-01T09:00"),
        ("AUD-1", "Needs Analysis", "2026-10-20T10:30"),
        ("AUD-1", "Proposal/Price Quote", "2026-11-30T06:23"),
    ]
    assert _exported_history(tmp_path) == expected
    # Re-importing either file changes nothing, and the deal is still where the CRM says.
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Proposal/Price Quote,2026-12-31\n")
    _import(tmp_path, history, history=True)
    assert _exported_history(tmp_path) == expected
    deal = Deal.objects.get()
    assert (deal.stage, deal.journey_stage.slug, deal.outcome) == (
        "Proposal/Price Quote",
        "decide",
        "open",
    )


def test_a_newer_deals_file_adds_no_entry_for_a_stage_the_history_already_dates(tmp_path):
    """History imported before the deals file that shows its latest stage: the deal moves to
    that stage and its history stays the CRM's (no second entry at the import's time)."""
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Prospecting,\n", at="2026-10-02T08:00")
    history = (
        HISTORY
        + "AUD-1,Prospecting,2026-10-01T09:00:00\nAUD-1,Needs Analysis,2026-11-02T14:00:00\n"
    )
    _import(tmp_path, history, history=True, at="2026-11-05T08:00")
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Needs Analysis,\n", at="2026-11-06T08:00")
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Prospecting", "2026-10-01T09:00"),
        ("AUD-1", "Needs Analysis", "2026-11-02T14:00"),
    ]
    assert Deal.objects.get().stage == "Needs Analysis"


def test_a_stage_change_only_a_deals_file_has_seen_is_kept_until_the_history_dates_it(tmp_path):
    """A deals file that moved the deal on, with no history of the move yet: its entry is
    the best guess (the move happened by then); the next history gives the real moment and
    takes its place, a closing stage included."""
    deals = DEALS + "AUD-1,Acme,100,Prospecting,\nAUD-2,Beta,100,Prospecting,\n"
    _import(tmp_path, deals, at="2026-10-02T08:00")
    _import(
        tmp_path,
        HISTORY + "AUD-1,Prospecting,2026-10-01T09:00:00\nAUD-2,Prospecting,2026-10-01T09:00:00\n",
        history=True,
        at="2026-10-03T08:00",
    )
    _import(
        tmp_path,
        DEALS + "AUD-1,Acme,100,Needs Analysis,\nAUD-2,Beta,100,Closed Won,2026-11-03\n",
        at="2026-11-10T08:00",
    )
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Prospecting", "2026-10-01T09:00"),
        ("AUD-1", "Needs Analysis", "2026-11-10T08:00"),
        ("AUD-2", "Prospecting", "2026-10-01T09:00"),
        ("AUD-2", "Closed Won", "2026-11-10T08:00"),
    ]
    history = (
        HISTORY
        + "AUD-1,Prospecting,2026-10-01T09:00:00\nAUD-1,Needs Analysis,2026-11-02T14:00:00\n"
        "AUD-2,Prospecting,2026-10-01T09:00:00\nAUD-2,Closed Won,2026-11-03T08:15:00\n"
    )
    _import(tmp_path, history, history=True, at="2026-11-11T08:00")
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Prospecting", "2026-10-01T09:00"),
        ("AUD-1", "Needs Analysis", "2026-11-02T14:00"),
        ("AUD-2", "Prospecting", "2026-10-01T09:00"),
        ("AUD-2", "Closed Won", "2026-11-03T08:15"),
    ]


def test_the_crms_own_repeated_rows_and_rows_split_across_chunks_are_kept(tmp_path, monkeypatch):
    """Salesforce logs a history row when an amount changes, repeating the stage: the file's
    rows are all kept, however the file is cut into write transactions."""
    from analytics import imports

    monkeypatch.setattr(imports, "CHUNK", 2)
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Needs Analysis,\n")
    history = (
        HISTORY + "AUD-1,Prospecting,2026-10-01T09:00:00\n"
        "AUD-1,Needs Analysis,2026-10-05T09:00:00\n"
        "AUD-1,Needs Analysis,2026-10-09T09:00:00\n"
    )
    _import(tmp_path, history, history=True)
    _import(tmp_path, history, history=True)
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Prospecting", "2026-10-01T09:00"),
        ("AUD-1", "Needs Analysis", "2026-10-05T09:00"),
        ("AUD-1", "Needs Analysis", "2026-10-09T09:00"),
    ]


def test_a_dry_run_of_the_history_keeps_the_deals_files_entry(tmp_path):
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Needs Analysis,\n")
    path = tmp_path / "history.csv"
    path.write_text(HISTORY + "AUD-1,Needs Analysis,2026-10-05T09:00:00\n", encoding="utf-8")
    call_command("import_deals", str(path), "--history", "--dry-run", stdout=io.StringIO())
    assert DealStageChange.objects.count() == 1


def test_a_closed_deals_close_date_stand_in_gives_way_to_the_historys_close(tmp_path):
    """A deals file dates a close at midnight of the close date; the CRM's close date need
    not be the day the stage changed. The history's close, earlier or later, is the one left."""
    deals = DEALS + "AUD-1,Acme,100,Closed Won,2026-11-03\nAUD-2,Beta,100,Closed Lost,2026-11-03\n"
    _import(tmp_path, deals, at="2026-11-10T08:00")
    history = (
        HISTORY + "AUD-1,Needs Analysis,2026-10-20T09:00:00\nAUD-1,Closed Won,2026-11-04T10:00:00\n"
        "AUD-2,Needs Analysis,2026-10-20T09:00:00\nAUD-2,Closed Lost,2026-11-02T16:00:00\n"
    )
    _import(tmp_path, history, history=True, at="2026-11-11T08:00")
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Needs Analysis", "2026-10-20T09:00"),
        ("AUD-1", "Closed Won", "2026-11-04T10:00"),
        ("AUD-2", "Needs Analysis", "2026-10-20T09:00"),
        ("AUD-2", "Closed Lost", "2026-11-02T16:00"),
    ]


def test_a_change_the_webhook_sent_after_the_history_is_kept(tmp_path):
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Needs Analysis,\n", at="2026-10-21T08:00")
    history = HISTORY + "AUD-1,Needs Analysis,2026-10-20T09:00:00\n"
    _import(tmp_path, history, history=True, at="2026-10-22T08:00")
    deal_stage_change(
        deal=Deal.objects.get(),
        stage="Proposal/Price Quote",
        entered_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )
    _import(tmp_path, history, history=True, at="2026-11-05T08:00")
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Needs Analysis", "2026-10-20T09:00"),
        ("AUD-1", "Proposal/Price Quote", "2026-11-02T09:00"),
    ]
    assert Deal.objects.get().stage == "Proposal/Price Quote"


def test_a_deals_file_stage_the_history_has_left_leaves_no_change_at_import_time(tmp_path):
    """The stage changed between the two exports: the deals file says Needs Analysis, the
    history has the deal enter Needs Analysis and move on. The deals file's entry was the
    older view and goes; the history's stays the deal's last stage."""
    _import(tmp_path, DEALS + "AUD-1,Acme,100,Needs Analysis,\n")
    history = (
        HISTORY + "AUD-1,Needs Analysis,2026-10-05T09:00:00\n"
        "AUD-1,Proposal/Price Quote,2026-10-20T09:00:00\n"
    )
    _import(tmp_path, history, history=True)
    assert [s for _, s, _ in _exported_history(tmp_path)] == [
        "Needs Analysis",
        "Proposal/Price Quote",
    ]


def test_a_deals_file_with_the_stage_change_date_records_a_real_change(tmp_path):
    """A deals file that dates the stage (a "Last Stage Change Date" column) records a
    change like the webhook's: a deal sent back to Needs Analysis after the history was
    exported keeps that move when the older history is imported again."""
    deals = "Opportunity ID,Opportunity Name,Amount,Stage,Close Date,Last Stage Change Date\n"
    for stage, moment in (
        ("Needs Analysis", "2026-10-05T09:00:00"),
        ("Proposal/Price Quote", "2026-10-20T09:00:00"),
        ("Needs Analysis", "2026-10-25T09:00:00"),
    ):
        _import(tmp_path, deals + f"AUD-1,Acme,100,{stage},,{moment}\n")
    history = (
        HISTORY + "AUD-1,Needs Analysis,2026-10-05T09:00:00\n"
        "AUD-1,Proposal/Price Quote,2026-10-20T09:00:00\n"
    )
    _import(tmp_path, history, history=True)
    assert _exported_history(tmp_path) == [
        ("AUD-1", "Needs Analysis", "2026-10-05T09:00"),
        ("AUD-1", "Proposal/Price Quote", "2026-10-20T09:00"),
        ("AUD-1", "Needs Analysis", "2026-10-25T09:00"),
    ]
