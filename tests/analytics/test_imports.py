"""Importing Salesforce opportunity reports and history exports."""

import dataclasses
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics import imports
from analytics.imports import ImportError_, deal_import_file, parse_mapping
from analytics.models import Deal, DealStageChange, ImportJob
from analytics.parsing import parse_amount, parse_date, parse_datetime
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HEADER = "Opportunity ID,Opportunity Name,Account Name,Amount,Stage,Close Date,Industry,Type\n"


def _import(text: str, name="report.csv", encoding="utf-8", **options):
    return deal_import_file(io.BytesIO(text.encode(encoding)), name, **options)


def _lead_client(role=ENABLEMENT_LEAD) -> Client:
    client = Client()
    client.force_login(make_user(role=role))
    return client


def _upload(client, capture, text: str, name="deals.csv", **fields) -> tuple:
    """Upload ``text`` on the import page, run the job it queues (the immediate task backend
    runs it when the request's transaction commits) and return the POST's response and the
    job page's HTML."""
    data = {"file": SimpleUploadedFile(name, text.encode()), "kind": "deals"}
    with capture(execute=True):
        posted = client.post("/analytics/import/", {"date_order": "auto", **data, **fields})
    assert posted.status_code == 302, posted.content.decode()
    return posted, client.get(posted.url).content.decode()


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$1,200.50", "1200.50", "USD"),
        ("1.200,50 €", "1200.50", "EUR"),
        ("EUR 1 200,50", "1200.50", "EUR"),
        ("1200", "1200.00", ""),
        ("12,5", "12.50", ""),
        ("(300.00)", "-300.00", ""),
        ("£2,000,000", "2000000.00", "GBP"),
    ],
)
def test_amounts_with_symbols_and_separators_are_read(text, amount, currency):
    assert parse_amount(text) == (Decimal(amount), currency)


@pytest.mark.parametrize("text", ["abc", "12 apples", "$", "1.2.3,4,5", float("nan"), float("inf")])
def test_amounts_that_are_not_numbers_are_refused_by_name(text):
    with pytest.raises(ValueError, match="is not a number"):
        parse_amount(text)


@pytest.mark.parametrize(
    "value", ["$100,000,000,000,000", 10**14, 10**30, -(10**14), Decimal("1E+20")]
)
def test_an_amount_no_deal_can_hold_is_refused_by_name(value):
    """A deal's amount has 14 digits before the point; more was an overflow (a 500 in the
    API) or a database error at import."""
    with pytest.raises(ValueError, match="is too large: at most 14 digits before the point"):
        parse_amount(value)
    assert parse_amount(10**14 - 1) == (Decimal("99999999999999.00"), "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-31", date(2024, 3, 31)),
        ("3/31/2024", date(2024, 3, 31)),
        ("31/03/2024", date(2024, 3, 31)),
        ("31.03.2024", date(2024, 3, 31)),
        ("31 Mar 2024", date(2024, 3, 31)),
        ("Mar 31, 2024", date(2024, 3, 31)),
        ("3/31/24 10:15 PM", date(2024, 3, 31)),
    ],
)
def test_common_date_formats_are_read(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/31/2024, 10:15 AM", datetime(2024, 3, 31, 10, 15, tzinfo=UTC)),
        ("3/31/2024 12:00 AM", datetime(2024, 3, 31, 0, 0, tzinfo=UTC)),
        ("3/31/2024 12:30 p.m.", datetime(2024, 3, 31, 12, 30, tzinfo=UTC)),
        ("31.03.2024 23:59:30", datetime(2024, 3, 31, 23, 59, 30, tzinfo=UTC)),
    ],
)
def test_a_time_of_day_after_a_date_is_read(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    ["1/1/2026 13:00 PM", "1/1/2026 0:30 AM", "1/1/2026 24:00", "1/1/2026 10:61", "1/1/2026 soon"],
)
def test_a_time_of_day_no_clock_shows_is_refused_by_name(text):
    """It used to be read as 1 PM, or as midnight: the stage change's day was kept, its
    order among the deal's changes guessed."""
    with pytest.raises(ValueError, match=f"date '{text}' has no valid time of day"):
        parse_datetime(text)


def test_day_first_order_settles_ambiguous_dates():
    assert parse_date("02/03/2024") == date(2024, 2, 3)
    assert parse_date("02/03/2024", order="dmy") == date(2024, 3, 2)


def test_import_creates_deals_with_amounts_currencies_and_journey_stages():
    report = _import(
        HEADER
        + '006A,Acme renewal,Acme,"$1,200.50",Prospecting,3/31/2024,Retail,New Business\n'
        + '006B,Globex,Globex,"1.200,50 €",Closed Won,2024-04-30,Energy,Existing Business\n'
    )
    assert (report.created, report.error_count) == (2, 0)
    acme = Deal.objects.get(external_id="006A")
    assert (acme.amount, acme.currency, acme.journey_stage.slug) == (
        Decimal("1200.50"),
        "USD",
        "discover",
    )
    assert (acme.close_date, acme.segment, acme.outcome) == (
        date(2024, 3, 31),
        "New Business",
        "open",
    )
    globex = Deal.objects.get(external_id="006B")
    assert (globex.currency, globex.outcome) == ("EUR", "won")


def test_reimport_updates_by_id_and_appends_a_stage_change():
    _import(HEADER + "006A,Acme,Acme,100,Prospecting,3/31/2024,,\n")
    report = _import(HEADER + "006A,Acme,Acme,250,Negotiation/Review,3/31/2024,,\n")
    assert (report.created, report.updated) == (0, 1)
    deal = Deal.objects.get()
    assert deal.amount == Decimal("250.00") and deal.journey_stage.slug == "decide"
    assert list(deal.history.values_list("stage", flat=True)) == [
        "Prospecting",
        "Negotiation/Review",
    ]
    assert deal.reached_stage_order == 2
    again = _import(HEADER + "006A,Acme,Acme,250,Negotiation/Review,3/31/2024,,\n")
    assert (again.updated, again.unchanged) == (0, 1)
    assert Deal.objects.count() == 1 and DealStageChange.objects.count() == 2


def test_bad_rows_are_reported_by_row_and_column_and_good_rows_kept():
    report = _import(
        HEADER
        + "006A,Acme,Acme,100,Prospecting,31/31/2024,,\n"
        + "006B,Globex,Globex,lots,Prospecting,3/31/2024,,\n"
        + "006C,Initech,Initech,5,Prospecting,3/31/2024,,\n"
        + "006C,Initech again,Initech,5,Prospecting,3/31/2024,,\n"
        + ",No id,X,5,Prospecting,3/31/2024,,\n"
        + "/006D,Slashed,X,5,Prospecting,3/31/2024,,\n"
    )
    assert report.created == 1
    assert report.errors == [
        (
            2,
            "Close Date",
            "date '31/31/2024' is not a date (expected e.g. 2024-03-31 or 3/31/2024)",
        ),
        (3, "Amount", "amount 'lots' is not a number"),
        (5, "Opportunity ID", "duplicate id (first on row 4)"),
        (6, "Opportunity ID", "is empty"),
        (7, "Opportunity ID", "'/006D' starts or ends with “/”, which no deal's address can hold"),
    ]
    assert list(Deal.objects.values_list("external_id", flat=True)) == ["006C"]


def test_unmapped_stage_is_reported_never_guessed():
    report = _import(HEADER + "006A,Acme,Acme,1,Pilot,3/31/2024,,\n006B,B,B,1,Pilot,,,\n")
    assert report.unmapped_stages == {"Pilot": 2}
    assert report.errors[0][:2] == (2, "Stage") and "not mapped" in report.errors[0][2]
    assert not Deal.objects.exists()


def test_missing_required_columns_fail_the_file_naming_them():
    with pytest.raises(ImportError_, match="missing required column.*Opportunity ID"):
        _import("Opportunity Name,Stage\nAcme,Prospecting\n")


def test_empty_file_is_refused():
    with pytest.raises(ImportError_, match="empty"):
        _import("")
    with pytest.raises(ImportError_, match="empty"):
        _import("\ufeff\n\n", encoding="utf-8")


def test_utf8_bom_and_semicolons_are_read():
    text = (
        "\ufeffOpportunity ID;Opportunity Name;Amount;Stage\n"
        "006Z;Müller GmbH;1.200,50 €;Qualification\n"
    )
    report = _import(text)
    assert report.created == 1
    deal = Deal.objects.get()
    assert (deal.name, deal.amount) == ("Müller GmbH", Decimal("1200.50"))


def test_windows_1252_file_is_read():
    report = _import(HEADER + "006A,Café,Café,1,Prospecting,,,\n", encoding="cp1252")
    assert report.created == 1 and Deal.objects.get().name == "Café"


def test_a_quote_never_closed_is_refused_naming_the_row_where_it_opens(monkeypatch):
    """csv read the rest of the file into the cell that opened the quote: rows 4 and 5 were
    lost without a word and row 3 imported with them in its name."""
    monkeypatch.setattr(imports, "CHUNK", 1)  # row 2 comes before it, in a chunk of its own
    text = (
        HEADER
        + "Q-1,Alpha,A,1,Prospecting,,,\n"
        + 'Q-2,"Beta,B,1,Prospecting,,,\n'
        + "Q-3,Gamma,C,1,Prospecting,,,\n"
        + "Q-4,Delta,D,1,Prospecting,,,"
    )
    with pytest.raises(ImportError_) as refused:
        _import(text)
    assert str(refused.value) == (
        "report.csv: row 3, column 'Opportunity Name': a quote (\") opens in this cell and is "
        "never closed, so every line after it was read into the cell; close the quote and "
        "import again"
    )
    assert not Deal.objects.exists()
    with pytest.raises(ImportError_, match=r"row 1, column 2: a quote"):
        _import('Opportunity ID,"Stage\nQ-1,Prospecting\n')


def test_a_quoted_cell_over_several_lines_is_read_to_its_closing_quote():
    text = HEADER + 'Q-1,"Two\nlines",A,1,Prospecting,,,\nQ-2,"Last\nrow",B,1,Prospecting,,,"x"'
    assert (_import(text).created, _import(text + "\n").unchanged) == (2, 2)
    assert Deal.objects.get(external_id="Q-2").name == "Last\nrow"


def test_dry_run_reports_but_changes_nothing():
    report = _import(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n", dry_run=True)
    assert report.created == 1 and not Deal.objects.exists()


def _numbers(report) -> dict:
    return {k: v for k, v in dataclasses.asdict(report).items() if k != "dry_run"}


def test_an_import_in_many_transactions_reports_as_one_and_a_dry_run_as_the_real_one(
    monkeypatch,
):
    """Each chunk is its own transaction (a dry run rolls each back): the report still counts
    the whole file, a dry run's is the real run's, and running the file again adds nothing."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    _import(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n")
    deals = (
        HEADER
        + "006A,Acme,Acme,2,Needs Analysis,,,\n"
        + "006B,Beta,Beta,1,Closed Won,2024-03-31,,\n"
        + "006C,Gamma,Gamma,1,Closed Lost,2024-03-31,,\n"
        + "006B,Beta again,Beta,1,Prospecting,,,\n"
        + "006D,Delta,Delta,lots,Prospecting,,,\n"
    )
    dry = _import(deals, dry_run=True)
    assert Deal.objects.count() == 1 and DealStageChange.objects.count() == 1
    real = _import(deals)
    assert _numbers(dry) == _numbers(real)
    assert (real.created, real.updated, real.history_added, real.closed_without_history) == (
        2,
        1,
        3,
        2,
    )
    assert [(row, column) for row, column, _ in real.errors] == [
        (5, "Opportunity ID"),
        (6, "Amount"),
    ]
    assert _import(deals).unchanged == 3 and Deal.objects.count() == 3

    history = (
        "Opportunity ID,To Stage,Last Modified\n"
        "006B,Prospecting,2024-02-01\n006C,Closed Lost,2024-03-30\n"
        # the same row again, in the next chunk
        "006C,Closed Lost,2024-03-30\n006A,Needs Analysis,2024-03-01\n"
        # a later chunk with no pipeline stage for 006B, which an earlier one gave
        "006B,Closed Won,2024-03-30\n"
    )
    stored = DealStageChange.objects.count()
    dry = _import(history, kind="history", dry_run=True)
    assert DealStageChange.objects.count() == stored
    real = _import(history, kind="history")
    assert _numbers(dry) == _numbers(real)
    # 006C (closed, no pipeline stage) is still without history; 006B has it now.
    assert (real.history_added, real.updated, real.closed_without_history) == (4, 3, 1)
    again = _import(history, kind="history")
    assert (again.history_added, again.unchanged) == (0, 3)
    # The deals file's closes of 006B and 006C (midnight of the 31st) repeated the history's
    # closes of the 30th: replaced by them. 006A's two stand-ins (Prospecting, then Needs
    # Analysis again) were older views than the history's Needs Analysis: they go too.
    assert DealStageChange.objects.count() == stored + 4 - 4
    stages = DealStageChange.objects.filter(deal__external_id="006A").values_list("stage")
    assert list(stages) == [("Needs Analysis",)]


def test_other_headers_can_be_mapped():
    mapping = parse_mapping("Deal Ref = external_id\nPhase=stage")
    report = _import("Deal Ref,Phase\nX1,Prospecting\n", mapping=mapping)
    assert report.created == 1
    with pytest.raises(ImportError_, match="mapping line 1"):
        parse_mapping("Deal Ref = nonsense")


def test_won_and_closed_columns_set_the_outcome():
    report = _import(
        "Opportunity ID,Stage,Won,Closed\nA,Negotiation/Review,1,1\nB,Negotiation/Review,0,1\n"
    )
    assert report.created == 2
    assert dict(Deal.objects.values_list("external_id", "outcome")) == {"A": "won", "B": "lost"}


def test_opportunity_history_export_builds_the_stage_history():
    _import("Opportunity ID,Stage\n006A,Closed Lost\n")  # no Close Date: dated the import day
    history = (
        "Opportunity ID,To Stage,Last Modified\n"
        "006A,Needs Analysis,2024-02-01\n006A,Negotiation/Review,2024-03-01\n"
        "006A,Closed Lost,2024-03-15\nNOPE,Prospecting,2024-03-01\n"
    )
    report = _import(history, kind="history")
    assert report.errors == [(5, "Opportunity ID", "no deal 'NOPE'")]
    deal = Deal.objects.get()
    assert (deal.stage, deal.outcome, deal.reached_stage_order) == ("Closed Lost", "lost", 2)
    again = _import(history, kind="history")
    assert again.history_added == 0
    # Only the three history rows: the report's own Closed Lost (at midnight of the day it
    # was imported, its close date) repeated the history's close and is replaced by it.
    assert list(deal.history.values_list("stage", "entered_at")) == [
        ("Needs Analysis", datetime(2024, 2, 1, tzinfo=UTC)),
        ("Negotiation/Review", datetime(2024, 3, 1, tzinfo=UTC)),
        ("Closed Lost", datetime(2024, 3, 15, tzinfo=UTC)),
    ]


def test_a_stage_change_dated_in_the_future_is_refused_by_row_beyond_the_clock_skew():
    """As the events API: a sender's clock may run 5 minutes ahead; a later date has not
    happened, and as the deal's latest change it would hold the deal in that stage."""
    _import(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n")
    now = datetime.now(UTC).replace(microsecond=0)
    soon, tomorrow = now + timedelta(minutes=2), now + timedelta(days=1)
    text = (
        "Opportunity ID,To Stage,Last Modified\n"
        f"006A,Needs Analysis,{soon:%Y-%m-%d %H:%M:%S}\n"
        f"006A,Negotiation/Review,{tomorrow:%Y-%m-%d %H:%M:%S}\n"
    )
    report = _import(text, kind="history")
    future = f"{tomorrow.isoformat()} is in the future (more than 5 minutes from now)"
    assert report.errors == [(3, "Last Modified", future)]
    entered = dict(DealStageChange.objects.values_list("stage", "entered_at"))
    assert entered["Needs Analysis"] == soon and "Negotiation/Review" not in entered


def test_the_historys_close_replaces_the_midnight_stand_in_of_the_deals_file():
    """A deals file knows only the close date, so the close it records is at midnight of that
    day; the history's close on that day is the real moment and takes its place (two closes
    ended the last stay at midnight: a touch that morning counted as between stages)."""
    _import(HEADER + "006A,Acme,Acme,1,Closed Won,3/15/2024,,\n")
    deal = Deal.objects.get()
    closes = lambda: [(c.stage, c.entered_at) for c in deal.history.all()]  # noqa: E731
    assert closes() == [("Closed Won", datetime(2024, 3, 15, tzinfo=UTC))]
    history = (
        "Opportunity ID,To Stage,Last Modified\n"
        "006A,Negotiation/Review,2024-03-01 10:00\n006A,Closed Won,2024-03-15 17:32\n"
    )
    report = _import(history, kind="history")
    assert report.history_added == 2
    assert closes() == [
        ("Negotiation/Review", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("Closed Won", datetime(2024, 3, 15, 17, 32, tzinfo=UTC)),
    ]
    assert _import(history, kind="history").history_added == 0
    # A close the history gives on an earlier day replaces the deals file's too: it would
    # repeat the close, a day late.
    _import(HEADER + "006B,Beta,Beta,1,Closed Won,3/15/2024,,\n")
    _import(
        "Opportunity ID,To Stage,Last Modified\n006B,Closed Won,2024-03-14 09:00\n", kind="history"
    )
    beta = Deal.objects.get(external_id="006B")
    assert list(beta.history.values_list("stage", "entered_at")) == [
        ("Closed Won", datetime(2024, 3, 14, 9, tzinfo=UTC))
    ]


def test_xlsx_export_is_read(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Opportunity ID", "Amount", "Stage", "Close Date"])
    sheet.append(["X9", 1500.5, "Qualification", date(2024, 5, 1)])
    path = tmp_path / "report.xlsx"
    workbook.save(path)
    with path.open("rb") as stream:
        report = deal_import_file(stream, "report.xlsx")
    assert report.created == 1
    deal = Deal.objects.get()
    assert (deal.amount, deal.close_date) == (Decimal("1500.50"), date(2024, 5, 1))


def test_xlsx_formulas_without_saved_results_are_reported_by_cell(tmp_path):
    """A workbook written by a program that does not calculate carries the formula but no
    result: the amount is reported, never imported as blank; a calculated one is read."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Opportunity ID", "Amount", "Stage", "Close Date"])
    sheet.append(["X1", "=1000*2", "Qualification", date(2024, 5, 1)])
    sheet.append(["X2", 750, "Qualification", date(2024, 5, 2)])
    path = tmp_path / "report.xlsx"
    workbook.save(path)  # openpyxl saves formulas uncalculated, like many report writers
    with path.open("rb") as stream:
        report = deal_import_file(stream, "report.xlsx")
    assert report.created == 1
    assert report.errors == [
        (
            2,
            "Amount",
            "holds the formula '=1000*2' but no result: open the file in a spreadsheet "
            "program, let it calculate and save it again",
        )
    ]
    assert list(Deal.objects.values_list("external_id", "amount")) == [("X2", Decimal("750.00"))]

    # The same file once a spreadsheet program has calculated it: the result is read.
    calculated = tmp_path / "calculated.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(calculated, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>1000*2</f><v></v>", b"<f>1000*2</f><v>2000</v>")
            target.writestr(item, data)
    with calculated.open("rb") as stream:
        report = deal_import_file(stream, "calculated.xlsx")
    assert (report.created, report.errors) == (1, [])
    assert Deal.objects.get(external_id="X1").amount == Decimal("2000.00")


def test_command_imports_shows_progress_and_reports_bad_rows(tmp_path, capsys):
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n006B,B,B,x,Prospecting,,,\n")
    call_command("import_deals", str(path))
    out, err = capsys.readouterr()
    assert "2 rows read" in out and "1 created" in out
    assert "row 3, column 'Amount'" in err
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_deals", str(tmp_path / "missing.csv"))


@pytest.mark.slow
def test_a_50_megabyte_file_imports_in_chunks(tmp_path):
    path = tmp_path / "big.csv"
    padding = "x" * 900
    with path.open("w") as out:
        out.write("Opportunity ID,Opportunity Name,Amount,Stage,Close Date,Description\n")
        row = 0
        while out.tell() < 50 * 1024 * 1024:
            row += 1
            out.write(
                f'B{row},Deal {row},"$1,{row % 1000:03d}.00",Prospecting,3/31/2024,{padding}\n'
            )
    seen = []
    with path.open("rb") as stream:
        report = deal_import_file(stream, "big.csv", progress=seen.append)
    assert report.error_count == 0
    assert report.created == row == Deal.objects.count()
    assert len(seen) > 10 and seen[-1] == row


def test_a_second_import_while_one_runs_is_refused():
    from django.utils import timezone

    from analytics.models import JobLock

    JobLock.objects.create(name="import_deals", acquired_at=timezone.now())
    with pytest.raises(ImportError_, match="already running"):
        _import(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n")


def test_upload_page_reports_a_missing_column_on_the_jobs_page(django_capture_on_commit_callbacks):
    client = _lead_client()
    posted, page = _upload(
        client, django_capture_on_commit_callbacks, "Name,Stage\nAcme,Prospecting\n"
    )
    assert "missing required column(s): Opportunity ID" in page
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED
    assert not Deal.objects.exists()


def test_a_full_disk_while_reading_the_file_is_named_on_the_job_page_and_saves_nothing(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The rows wait in a temporary file until the whole file is read; a disk with no room
    for it is the job's error, not a server error."""
    import errno

    class Full:
        def __init__(self):
            self.closed = False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.closed = True

    monkeypatch.setattr("analytics.imports.tempfile.TemporaryFile", Full)
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n"
    _, page = _upload(_lead_client(), django_capture_on_commit_callbacks, body)
    assert "deals.csv: no room to read the file" in page
    assert "No space left on device" in page
    assert not Deal.objects.exists()


def test_a_full_disk_while_saving_the_upload_is_a_503_leaving_no_file_and_no_job(
    monkeypatch, settings
):
    import errno
    from pathlib import Path

    real_open = Path.open

    class Full:
        """The saved upload's file, on a disk that fills up at its first write."""

        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def opened(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return Full(handle) if "imports" in path.parts and "w" in mode else handle

    monkeypatch.setattr(Path, "open", opened)
    body = (HEADER + "006A,Acme,Acme,1,Prospecting,,,\n").encode()
    upload = SimpleUploadedFile("deals.csv", body)
    response = _lead_client().post(
        "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
    )
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert list((Path(settings.DATA_DIR) / "imports").iterdir()) == []


# --- "Automatic" date order: one order for the whole file -----------------------------------


def _close_dates() -> dict:
    return dict(Deal.objects.values_list("external_id", "close_date"))


def test_automatic_date_order_reads_a_day_first_file_day_first_throughout():
    """The audit's file: 13/02/2026 can only be day first, so 01/02/2026 beside it is the
    1st of February too (it was read month first, as 2 January)."""
    report = _import(
        HEADER + "DT-1,A,A,1,Prospecting,01/02/2026,,\nDT-2,B,B,1,Prospecting,13/02/2026,,\n"
    )
    assert _close_dates() == {"DT-1": date(2026, 2, 1), "DT-2": date(2026, 2, 13)}
    assert (report.created, report.errors, report.notes) == (2, [], [])


def test_automatic_date_order_refuses_a_file_with_both_orders_naming_a_row_of_each():
    text = (
        HEADER
        + "OK-1,A,A,1,Prospecting,2026-02-01,,\n"
        + "DT-1,A,A,1,Prospecting,13/02/2026,,\nDT-2,B,B,1,Prospecting,02/13/2026,,\n"
    )
    with pytest.raises(ImportError_) as refused:
        _import(text)
    message = str(refused.value)
    assert "row 3, column 'Close Date': 13/02/2026" in message
    assert "row 4, column 'Close Date': 02/13/2026" in message
    assert "choose the date order" in message
    assert not Deal.objects.exists()


def test_automatic_date_order_keeps_month_first_for_an_ambiguous_file_and_says_so(
    django_capture_on_commit_callbacks,
):
    text = HEADER + "DT-1,A,A,1,Prospecting,01/02/2026,,\nDT-2,B,B,1,Prospecting,2026-03-04,,\n"
    _, page = _upload(_lead_client(), django_capture_on_commit_callbacks, text)
    assert _close_dates() == {"DT-1": date(2026, 1, 2), "DT-2": date(2026, 3, 4)}
    assert "row 2, column &#x27;Close Date&#x27;: 01/02/2026" in page
    assert "read month first" in page


def test_an_order_chosen_on_the_form_wins_over_the_files_dates():
    ambiguous = HEADER + "DT-1,A,A,1,Prospecting,01/02/2026,,\n"
    assert _import(ambiguous, date_order="dmy").notes == []
    assert _close_dates() == {"DT-1": date(2026, 2, 1)}
    mixed = HEADER + "DT-2,A,A,1,Prospecting,13/02/2026,,\nDT-3,B,B,1,Prospecting,02/13/2026,,\n"
    report = _import(mixed, date_order="mdy")
    assert report.notes == []
    assert [(row, column) for row, column, _ in report.errors] == [(2, "Close Date")]
    assert _close_dates()["DT-3"] == date(2026, 2, 13)


def test_a_history_file_settles_its_date_order_the_same_way():
    _import(HEADER + "006A,Acme,Acme,1,Prospecting,,,\n")
    header = "Opportunity ID,To Stage,Last Modified\n"
    day_first = header + "006A,Needs Analysis,01/03/2026\n006A,Negotiation/Review,13/03/2026\n"
    report = _import(day_first, kind="history")
    entered = dict(DealStageChange.objects.values_list("stage", "entered_at"))
    assert entered["Needs Analysis"] == datetime(2026, 3, 1, tzinfo=UTC)
    assert entered["Negotiation/Review"] == datetime(2026, 3, 13, tzinfo=UTC)
    assert (report.errors, report.notes) == ([], [])
    mixed = header + "006A,Closed Won,14/03/2026\n006A,Closed Lost,03/15/2026 10:00\n"
    with pytest.raises(ImportError_, match=r"row 2, column 'Last Modified'.*row 3, column"):
        _import(mixed, kind="history")
    assert not DealStageChange.objects.filter(stage__startswith="Closed").exists()


class _ReadOnce(io.BytesIO):
    """An upload that can be read only once, from start to end."""

    def seek(self, *args):
        raise io.UnsupportedOperation("this stream is read once")


def test_automatic_date_order_is_settled_in_the_one_reading_of_the_file():
    text = HEADER + "DT-1,A,A,1,Prospecting,01/02/2026,,\nDT-2,B,B,1,Prospecting,13/02/2026,,\n"
    report = deal_import_file(_ReadOnce(text.encode()), "report.csv")
    assert (report.created, report.errors) == (2, [])
    assert _close_dates() == {"DT-1": date(2026, 2, 1), "DT-2": date(2026, 2, 13)}


def test_an_xlsx_import_opens_its_workbook_once_for_values_and_once_for_formulas(
    tmp_path, monkeypatch
):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["Opportunity ID", "Stage", "Close Date"])
    workbook.active.append(["X1", "Qualification", "13/02/2026"])
    workbook.active.append(["X2", "Qualification", "01/02/2026"])
    path = tmp_path / "report.xlsx"
    workbook.save(path)
    loads = []
    load = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: loads.append(1) or load(*a, **k))
    with path.open("rb") as stream:
        report = deal_import_file(stream, "report.xlsx")
    assert (report.created, report.errors, len(loads)) == (2, [], 2)
    assert _close_dates() == {"X1": date(2026, 2, 13), "X2": date(2026, 2, 1)}


def test_a_file_refused_for_its_date_orders_in_its_last_chunk_leaves_nothing_saved(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    rows = "".join(f"DT-{n},A,A,1,Prospecting,13/02/2026,,\n" for n in range(5))
    with pytest.raises(ImportError_, match=r"row 7, column 'Close Date': 02/13/2026"):
        _import(HEADER + rows + "DT-9,B,B,1,Prospecting,02/13/2026,,\n")
    assert not Deal.objects.exists()


# --- Imports from the dashboard run as jobs ---------------------------------------------------


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):
    """Each test's uploads wait in its own data directory (a test's rolled-back job leaves
    its file behind)."""
    settings.DATA_DIR = tmp_path


def _stored_uploads() -> list:
    from django.conf import settings

    folder = settings.DATA_DIR / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_an_upload_becomes_a_job_whose_page_shows_the_report(django_capture_on_commit_callbacks):
    Deal.objects.create(external_id="006B", name="Old", stage="Prospecting")
    client = _lead_client()
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n006B,Beta,Beta,2,Prospecting,,,\n"
    posted, page = _upload(client, django_capture_on_commit_callbacks, body)
    job = ImportJob.objects.get()
    assert posted.url == f"/analytics/import/{job.pk}/"
    assert (job.status, job.file_name, job.kind) == ("done", "deals.csv", "deals")
    assert job.created_by is not None
    assert job.started_at and job.finished_at and job.rows_read == 2
    assert "2 rows: 1 created, 1 updated" in page
    assert "Open the dashboard" in page and "http-equiv" not in page  # finished: no reloading
    # Another lead sees it too (leads share the dashboard); nobody else does.
    assert _lead_client().get(posted.url).status_code == 200
    for role in (REP, MARKETER):
        other = _lead_client(role)
        assert other.get(posted.url).status_code == 403
        assert other.get(f"{posted.url}status/").status_code == 403
    assert _lead_client().get("/analytics/import/999999/").status_code == 404


def test_the_uploaded_file_is_deleted_after_the_run_whether_it_worked_or_not(
    django_capture_on_commit_callbacks,
):
    client = _lead_client()
    _upload(client, django_capture_on_commit_callbacks, HEADER + "006A,A,A,1,Prospecting,,,\n")
    _upload(client, django_capture_on_commit_callbacks, "Name,Stage\nAcme,Prospecting\n")
    assert ImportJob.objects.filter(status="done").count() == 1
    assert ImportJob.objects.filter(status="failed").count() == 1
    assert _stored_uploads() == []


def test_the_upload_waits_in_the_data_directory_until_the_job_runs():
    client = _lead_client()
    upload = SimpleUploadedFile("deals.csv", (HEADER + "006A,A,A,1,Prospecting,,,\n").encode())
    posted = client.post(
        "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
    )
    job = ImportJob.objects.get()  # no commit in this test: the task was never queued
    assert job.status == "queued" and len(_stored_uploads()) == 1
    assert "Waiting to start" in client.get(posted.url).content.decode()


def test_a_failed_import_names_the_problem_on_the_job_page_and_saves_nothing(
    django_capture_on_commit_callbacks,
):
    body = HEADER + "DT-1,A,A,1,Prospecting,13/02/2026,,\nDT-2,B,B,1,Prospecting,02/13/2026,,\n"
    _, page = _upload(_lead_client(), django_capture_on_commit_callbacks, body)
    assert "The import failed" in page
    assert "the dates are written both day first" in page
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.report is None and "day first" in job.error
    assert not Deal.objects.exists()


def test_an_invalid_form_shows_its_errors_and_creates_no_job():
    page = _lead_client().post("/analytics/import/", {"kind": "deals", "date_order": "auto"})
    assert page.status_code == 200 and "This field is required." in page.content.decode()
    upload = SimpleUploadedFile("deals.csv", (HEADER + "006A,A,A,1,Prospecting,,,\n").encode())
    page = _lead_client().post(
        "/analytics/import/",
        {"file": upload, "kind": "deals", "date_order": "auto", "mapping": "nonsense"},
    )
    assert page.status_code == 200 and "write &#x27;Header = field&#x27;" in page.content.decode()
    assert not ImportJob.objects.exists() and _stored_uploads() == []


def test_progress_is_recorded_as_the_rows_are_read(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "CHUNK", 2)
    client = _lead_client()
    seen = []

    def fake_import(stream, filename, *, progress, **options):
        progress(1234)
        job = ImportJob.objects.order_by("-pk").first()
        seen.append(client.get(f"/analytics/import/{job.pk}/status/").json())
        seen.append(client.get(f"/analytics/import/{job.pk}/").content.decode())
        raise ImportError_("stopped for the test")

    body = HEADER + "".join(f"P{n},A,A,1,Prospecting,,,\n" for n in range(5))
    _upload(client, django_capture_on_commit_callbacks, body)
    assert ImportJob.objects.get().rows_read == 5  # the real run: every row of the file
    monkeypatch.setattr("analytics.import_jobs.deal_import_file", fake_import)
    _upload(client, django_capture_on_commit_callbacks, body)
    status, page = seen
    assert (status["status"], status["rows_read"]) == ("running", 1234)
    assert status["started_at"] and status["updated_at"] and status["finished_at"] is None
    assert "Read 1,234 rows…" in page and 'http-equiv="refresh"' in page


def test_a_job_that_stopped_moving_says_since_when():
    from django.utils import timezone

    job = ImportJob.objects.create(file_name="deals.csv", status="running", rows_read=500)
    long_ago = timezone.now() - timedelta(minutes=30)
    ImportJob.objects.filter(pk=job.pk).update(started_at=long_ago, updated_at=long_ago)
    page = _lead_client().get(f"/analytics/import/{job.pk}/").content.decode()
    assert "Read 500 rows…" in page
    assert "the import may have stopped" in page
    assert f"No progress since {timezone.localtime(long_ago):%-d %b %Y %H:%M:%S}" in page
    again = timezone.localtime(long_ago + imports.LOCK_STALE_AFTER)
    assert "import the file again to finish it (deals are updated" in page
    assert f"from {again:%H:%M}, when a stopped import's lock is released" in page
    ImportJob.objects.filter(pk=job.pk).update(dry_run=True)
    page = _lead_client().get(f"/analytics/import/{job.pk}/").content.decode()
    assert "A dry run saves nothing; run it again from" in page and "rows saved" not in page


def test_a_job_no_worker_started_says_the_worker_may_be_stopped():
    from django.utils import timezone

    job = ImportJob.objects.create(file_name="deals.csv")
    client = _lead_client()
    fresh = client.get(f"/analytics/import/{job.pk}/").content.decode()
    assert "Waiting to start…" in fresh and 'id="import-unstarted"' not in fresh
    long_ago = timezone.now() - timedelta(minutes=30)
    ImportJob.objects.filter(pk=job.pk).update(created_at=long_ago, updated_at=long_ago)
    page = client.get(f"/analytics/import/{job.pk}/").content.decode()
    assert "Waiting to start…" in page
    assert "the task worker (<code>manage.py db_worker</code>) may be stopped" in page


def test_a_dead_imports_lock_is_taken_over_once_it_has_been_quiet_ten_minutes():
    """A worker killed mid-file left the lock for two hours: every import in between failed
    with "already running", though the page said to import the file again."""
    from django.utils import timezone

    from analytics.models import JobLock

    row = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n"
    JobLock.objects.create(name="import_deals", acquired_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(ImportError_, match="already running"):
        _import(row)
    JobLock.objects.update(acquired_at=timezone.now() - timedelta(minutes=11))
    assert _import(row).created == 1 and not JobLock.objects.exists()


def test_the_scheduler_fails_an_import_whose_worker_died_and_deletes_its_file(settings):
    """Such a job stayed "running" and its saved upload (the deals file) stayed on disk."""
    from pathlib import Path

    from django.utils import timezone

    from analytics.management.commands.analytics_scheduler import periodic_jobs_run

    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for minutes in (11, 5):  # quiet past the lock's 10 minutes, and not yet
        (folder / f"{minutes}.csv").write_text("Opportunity ID,Stage\n")
        job = ImportJob.objects.create(
            file_name="deals.csv", stored_path=f"imports/{minutes}.csv", status="running"
        )
        quiet = timezone.now() - timedelta(minutes=minutes)
        ImportJob.objects.filter(pk=job.pk).update(rows_read=1500, updated_at=quiet)
        jobs.append(job)
    periodic_jobs_run(last_runs={}, now=0.0)
    dead, alive = (ImportJob.objects.get(pk=job.pk) for job in jobs)
    assert (dead.status, alive.status) == ("failed", "running")
    assert dead.error.startswith("The import stopped after 1,500 rows (no progress since ")
    assert "import the file again to finish it" in dead.error
    assert [path.name for path in folder.iterdir()] == ["5.csv"]
    page = _lead_client().get(f"/analytics/import/{dead.pk}/").content.decode()
    assert "The import failed" in page and "its worker stopped" in page


def test_the_scheduler_deletes_imports_finished_over_30_days_ago_and_any_file_left(settings):
    """Finished jobs were kept for ever. One still queued or running is never deleted."""
    from pathlib import Path

    from django.utils import timezone

    from analytics.management.commands.analytics_scheduler import periodic_jobs_run

    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    kept, gone = [], []
    for status, days, ends in [
        ("done", 31, gone),
        ("failed", 31, gone),
        ("done", 29, kept),
        ("failed", 29, kept),
        ("running", 40, kept),
        ("queued", 0, kept),
    ]:
        name = f"{status}-{days}.csv"
        (folder / name).write_text("Opportunity ID,Stage\n")
        job = ImportJob.objects.create(
            file_name="deals.csv", stored_path=f"imports/{name}", status=status
        )
        long_ago = now - timedelta(days=days)
        finished_at = long_ago if status in ("done", "failed") else None
        started_at = long_ago if status != "queued" else None
        ImportJob.objects.filter(pk=job.pk).update(
            created_at=long_ago, started_at=started_at, finished_at=finished_at, updated_at=now
        )
        ends.append(job.pk)
    periodic_jobs_run(last_runs={}, now=0.0)
    assert sorted(ImportJob.objects.values_list("pk", flat=True)) == sorted(kept)
    assert sorted(path.name for path in folder.iterdir()) == [
        "done-29.csv",
        "failed-29.csv",
        "queued-0.csv",
        "running-40.csv",
    ]
    assert ImportJob.objects.get(status="running").finished_at is None


def test_the_scheduler_fails_a_job_no_worker_started_in_a_day_and_later_deletes_it(settings):
    """A job whose task was lost stayed "Waiting to start…" for ever, its file with it, and
    was never deleted (only finished jobs are)."""
    from pathlib import Path

    from django.utils import timezone

    from analytics.import_jobs import import_job_run
    from analytics.management.commands.analytics_scheduler import periodic_jobs_run

    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    jobs = {}
    for name, hours in [("lost", 25), ("waiting", 23), ("fresh", 0)]:
        (folder / f"{name}.csv").write_text("Opportunity ID,Stage\nL-1,Prospecting\n")
        job = ImportJob.objects.create(file_name=f"{name}.csv", stored_path=f"imports/{name}.csv")
        queued = now - timedelta(hours=hours)
        ImportJob.objects.filter(pk=job.pk).update(created_at=queued, updated_at=queued)
        jobs[name] = job.pk
    periodic_jobs_run(last_runs={}, now=0.0)
    lost = ImportJob.objects.get(pk=jobs["lost"])
    assert lost.status == "failed" and lost.finished_at is not None
    assert lost.error.startswith("The import never started: no task worker took it up after ")
    assert lost.error.endswith("Nothing was imported; upload the file again.")
    page = _lead_client().get(f"/analytics/import/{lost.pk}/").content.decode()
    assert "The import failed" in page and "The import never started" in page
    assert "Waiting to start" not in page
    waiting = _lead_client().get(f"/analytics/import/{jobs['waiting']}/").content.decode()
    given_up_at = timezone.localtime(now + timedelta(hours=1))
    assert "Waiting to start…" in waiting
    assert f"if that is before {given_up_at:%-d %b %Y %H:%M}; after that it is marked failed" in (
        waiting
    )
    for name in ("waiting", "fresh"):
        job = ImportJob.objects.get(pk=jobs[name])
        assert (job.status, job.error, job.finished_at) == ("queued", "", None)
    assert sorted(path.name for path in folder.iterdir()) == ["fresh.csv", "waiting.csv"]
    import_job_run(job_id=lost.pk)  # its task turns up after all: too late, it does nothing
    assert ImportJob.objects.get(pk=lost.pk).status == "failed" and not Deal.objects.exists()
    # Then it is deleted 30 days after it failed, as every finished job is.
    ImportJob.objects.filter(pk=lost.pk).update(finished_at=now - timedelta(days=31))
    periodic_jobs_run(last_runs={}, now=0.0)
    assert sorted(ImportJob.objects.values_list("pk", flat=True)) == sorted(
        [jobs["waiting"], jobs["fresh"]]
    )


def test_a_running_import_keeps_its_lock_alive_after_every_chunk(monkeypatch):
    from analytics.models import JobLock

    monkeypatch.setattr(imports, "CHUNK", 1)
    touched = []
    rows = "".join(f"006{n},Acme,Acme,1,Prospecting,,,\n" for n in range(3))
    _import(HEADER + rows, progress=lambda _: touched.append(JobLock.objects.get().acquired_at))
    assert len(touched) == 3 and touched[0] < touched[1] < touched[2]


def test_the_file_name_and_the_error_are_escaped_on_the_job_page(
    django_capture_on_commit_callbacks,
):
    body = "Name,<script>alert(1)</script>\nAcme,Prospecting\n"
    _, page = _upload(
        _lead_client(), django_capture_on_commit_callbacks, body, name="<img src=x>.csv"
    )
    assert "<script>alert(1)</script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Import of &lt;img src=x&gt;.csv" in page


# --- Dry runs take no lock; a real import waits its turn --------------------------------------


def _another_import_running():
    from django.utils import timezone

    from analytics.models import JobLock

    return JobLock.objects.create(name="import_deals", acquired_at=timezone.now())


def test_a_dry_run_while_a_real_import_runs_reports_as_ever_and_saves_nothing(
    django_capture_on_commit_callbacks,
):
    """A lead previewing a file was told "import_deals is already running"."""
    lock = _another_import_running()
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n006B,Beta,Beta,1,Nowhere,,,\n"
    _, page = _upload(_lead_client(), django_capture_on_commit_callbacks, body, dry_run="on")
    job = ImportJob.objects.get()
    assert (job.status, job.dry_run, job.error) == ("done", True, "")
    assert "Dry run: nothing was saved" in page and "already running" not in page
    report = job.report
    assert (report["created"], report["error_count"]) == (1, 1)
    assert [(row, column) for row, column, _ in report["errors"]] == [(3, "Stage")]
    assert "stage &#x27;Nowhere&#x27; is not mapped to a journey stage" in page
    assert not Deal.objects.exists()
    from analytics.models import JobLock

    assert list(JobLock.objects.all()) == [lock]  # the real import's, untouched


def test_a_real_import_while_a_dry_run_is_going_is_not_refused(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 1)
    real = []

    def meanwhile(rows):
        if rows == 1:  # the dry run is between its chunks
            real.append(_import(HEADER + "006Z,Zeta,Zeta,1,Prospecting,,,\n"))

    rows = "".join(f"006{n},Acme,Acme,1,Prospecting,,,\n" for n in range(3))
    dry = _import(HEADER + rows, dry_run=True, progress=meanwhile)
    assert real[0].created == 1 and dry.created == 3
    assert list(Deal.objects.values_list("external_id", flat=True)) == ["006Z"]


def test_a_dry_run_meeting_a_deal_a_real_import_stored_after_its_look_up_still_reports(
    monkeypatch,
):
    """Beside a real import, a dry run's chunk may look a deal up, find nothing, and then find
    it stored by the time it inserts it (PostgreSQL: the insert waited for the real import's
    commit, then failed, and the dry run with it)."""
    look_up = Deal.objects.in_bulk

    def stored_meanwhile(*args, **kwargs):
        found = look_up(*args, **kwargs)
        Deal.objects.create(external_id="006A", name="Stored by the real import", stage="x")
        return found

    monkeypatch.setattr(Deal.objects, "in_bulk", stored_meanwhile)
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n006B,Beta,Beta,1,Prospecting,,,\n"
    report = _import(body, dry_run=True)
    assert (report.created, report.error_count) == (2, 0)


def test_a_real_import_a_second_worker_takes_up_waits_for_the_running_one_then_runs(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """With two task workers, the second import failed ("already running") and its file was
    deleted: it had to be uploaded again once the first had finished."""
    from django.utils import timezone
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    from analytics.import_jobs import LOCKED_RETRY_AFTER

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    lock = _another_import_running()
    client = _lead_client()
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n"
    upload = SimpleUploadedFile("deals.csv", body.encode())
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            "/analytics/import/", {"file": upload, "kind": "deals", "date_order": "auto"}
        )

    def worker():
        with django_capture_on_commit_callbacks(execute=True):
            call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0", verbosity=0)

    before = timezone.now()
    worker()
    job = ImportJob.objects.get()
    assert (job.status, job.started_at, job.error) == ("queued", None, "")
    page = client.get(posted.url).content.decode()
    assert "Waiting to start…" in page and "The import failed" not in page
    assert len(_stored_uploads()) == 1  # its file waits with it
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["args"] == [job.pk]
    assert retry.run_after >= before + LOCKED_RETRY_AFTER
    lock.delete()  # the running import has finished; the retry's time has come
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    worker()
    job.refresh_from_db()
    assert job.status == "done" and Deal.objects.get().external_id == "006A"
    page = client.get(posted.url).content.decode()
    assert "Imported" in page and "1 rows: 1 created" in page
    assert _stored_uploads() == []


def test_with_the_immediate_task_backend_a_second_real_import_fails_saying_so(
    django_capture_on_commit_callbacks,
):
    """That backend runs a task at once and never later: there is no turn to wait for."""
    _another_import_running()
    body = HEADER + "006A,Acme,Acme,1,Prospecting,,,\n"
    _, page = _upload(_lead_client(), django_capture_on_commit_callbacks, body)
    assert "The import failed" in page
    assert "import_deals is already running; try again when it has finished" in page
    assert not Deal.objects.exists() and _stored_uploads() == []
