"""Reading CRM exports: tables from CSV/XLSX, amounts, dates and booleans as people type them.

Every parser raises ``ValueError`` with a message that names the bad value, so an import can
report it against the row and column it came from.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from cms.extraction import MB, ExtractionError, Limits
from cms.extraction.ooxml import Package

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW"}
_CODE = re.compile(r"\b([A-Z]{3})\b")
_AMOUNT_CHARS = re.compile(r"^[\d.,\s'’()+-]+$")


def parse_amount(text) -> tuple[Decimal | None, str]:
    """``"$1,200.50"`` -> (1200.50, "USD"); ``"1.200,50 €"`` -> (1200.50, "EUR"); "" -> None.

    Separators: when both "," and "." appear, the last one is the decimal mark. When only one
    kind appears, it is a thousands separator if it appears more than once or is followed by
    exactly three digits, else the decimal mark. Spaces and apostrophes group thousands.
    """
    if isinstance(text, bool):  # an int to Python, TRUE in a spreadsheet cell
        raise ValueError(f"amount {text!r} is not a number")
    if isinstance(text, int | float | Decimal):
        return _amount(Decimal(str(text)), str(text)), ""
    raw = str(text or "").strip()
    if not raw:
        return None, ""
    currency, rest = "", raw
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in rest:
            currency, rest = code, rest.replace(symbol, "")
    match = _CODE.search(rest.upper())
    if match and rest.upper().count(match.group(1)) == 1 and re.search(r"[A-Za-z]", rest):
        currency = match.group(1)
        rest = re.sub(match.group(1), "", rest, flags=re.IGNORECASE)
    rest = rest.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not rest or not _AMOUNT_CHARS.match(rest) or not re.search(r"\d", rest):
        raise ValueError(f"amount {raw!r} is not a number")
    negative = rest.startswith("-") or (rest.startswith("(") and rest.endswith(")"))
    digits = re.sub(r"[^\d.,]", "", rest)
    digits = _normalise_separators(digits)
    try:
        value = Decimal(digits)
    except InvalidOperation:
        raise ValueError(f"amount {raw!r} is not a number") from None
    return _amount(-value if negative else value, raw), currency


#: A deal's amount has 16 digits, 2 of them after the decimal point (``Deal.amount``).
AMOUNT_DIGITS = 14


def _amount(value: Decimal, raw: str) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"amount {raw!r} is not a number")
    if abs(value) >= 10**AMOUNT_DIGITS:
        raise ValueError(
            f"amount {raw!r} is too large: at most {AMOUNT_DIGITS} digits before the point"
        )
    return value.quantize(Decimal("0.01"))


def _normalise_separators(digits: str) -> str:
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        return digits.replace(thousands, "").replace(decimal_mark, ".")
    for mark in (",", "."):
        if mark in digits:
            tail = len(digits) - digits.rfind(mark) - 1
            if digits.count(mark) > 1 or tail == 3:
                return digits.replace(mark, "")
            return digits.replace(mark, ".")
    return digits


_NUMERIC_DATE = re.compile(r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{2,4})(?:,?[ T](.*))?$")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:\s*([AaPp])\.?[Mm]\.?)?")
_TEXT_FORMATS = ("%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%d-%b-%Y", "%b %d %Y")


def parse_date(value, *, order: str = "auto") -> date | None:
    """A date from ISO (2024-03-31), numeric (3/31/2024, 31/03/2024, 31.03.2024) or text
    (31 Mar 2024, Mar 31, 2024) forms; "" -> None.

    ``order`` settles numeric dates with "/" or "-": "mdy" (Salesforce's US export), "dmy",
    or "auto": month first unless the first number cannot be a month. Dotted dates are
    day-first. "auto" judges one value alone: an import settles the order once for the whole
    file (``numeric_date_reading`` of each date cell) and passes "mdy" or "dmy".
    """
    parsed = parse_datetime(value, order=order)
    return parsed.date() if parsed else None


def parse_datetime(value, *, order: str = "auto") -> datetime | None:
    """Like ``parse_date`` but keeps a time of day when there is one; aware (UTC if naive)."""
    if isinstance(value, datetime):
        date_range_check(value)
        return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
    if isinstance(value, date):
        date_range_check(value)
        value = datetime.combine(value, time.min)
        return timezone.make_aware(value, UTC)
    raw = str(value or "").strip()
    if not raw:
        return None
    parsed = _parse_iso(raw) or _parse_numeric(raw, order) or _parse_text(raw)
    if parsed is None:
        raise ValueError(f"date {raw!r} is not a date (expected e.g. 2024-03-31 or 3/31/2024)")
    date_range_check(parsed, raw)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


#: The dates a deal may carry: anything outside is a placeholder or a typo, and the rollups'
#: day arithmetic would overflow at the ends of the calendar (9999-12-31 plus one day).
DATE_EARLIEST, DATE_LATEST = date(1970, 1, 1), date(2999, 12, 31)


def date_range_check(value: date | datetime, raw: str | None = None) -> None:
    """ValueError naming ``value`` (as ``raw`` when given) unless it lies in DATE_EARLIEST to
    DATE_LATEST. A datetime is judged by its own date, never converted (a zone can carry
    0001-01-01 or 9999-12-31 past the calendar)."""
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_EARLIEST <= day <= DATE_LATEST:
        shown = raw if raw is not None else value.isoformat()
        raise ValueError(
            f"date {shown!r} is out of range ({DATE_EARLIEST.isoformat()} to "
            f"{DATE_LATEST.isoformat()})"
        )


def _parse_iso(raw: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def numeric_date_reading(value) -> str | None:
    """How a numeric date with "/" or "-" can be read: "dmy" when only day first ("13/02/2026"),
    "mdy" when only month first ("02/13/2026"), "either" when both numbers are 12 or less
    ("01/02/2026"); None for anything the date order does not affect (ISO, year first,
    dotted, month names, a spreadsheet's own date, an empty cell, a typo)."""
    match = _NUMERIC_DATE.match(value.strip()) if isinstance(value, str) else None
    if not match or len(match.group(1)) == 4 or match.group(2) == ".":
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first > 12 and second <= 12:
        return "dmy"
    if second > 12 and first <= 12:
        return "mdy"
    if first <= 12 and second <= 12:
        return "either"
    return None


def _parse_numeric(raw: str, order: str) -> datetime | None:
    match = _NUMERIC_DATE.match(raw)
    if not match:
        return None
    first, separator, second, third, rest = match.groups()
    if len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    elif separator == "." or order == "dmy" or (order == "auto" and int(first) > 12):
        day, month, year = int(first), int(second), int(third)
    else:
        month, day, year = int(first), int(second), int(third)
    if year < 100:
        year += 2000
    try:
        day_of = date(year, month, day)
    except ValueError:
        return None
    return datetime.combine(day_of, _parse_time(rest or "", raw))


def _parse_time(text: str, raw: str) -> time:
    """The time of day after a numeric date: "22:15", "10:15 PM", "10:15:30 p.m."; nothing
    is midnight. ValueError naming ``raw`` for anything else: "13:00 PM", "24:00", a
    word after the date, which an import must not read as midnight."""
    if not text.strip():
        return time.min
    invalid = ValueError(f"date {raw!r} has no valid time of day (expected e.g. 22:15 or 10:15 PM)")
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise invalid
    hour, minute, second, meridiem = match.groups()
    hour = int(hour)
    if meridiem:
        if not 1 <= hour <= 12:  # "0:30 AM", "13:00 PM": no such time on a 12-hour clock
            raise invalid
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    try:
        return time(hour, int(minute), int(second or 0))
    except ValueError:  # "24:00", "10:75"
        raise invalid from None


def _parse_text(raw: str) -> datetime | None:
    for fmt in _TEXT_FORMATS:
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            continue
    return None


def parse_bool(value) -> bool | None:
    """1/true/yes/y/x -> True, 0/false/no/n/"" -> None when blank, else ValueError."""
    if isinstance(value, bool):
        return value
    raw = str(value if value is not None else "").strip().casefold()
    if raw == "":
        return None
    if raw in {"1", "true", "yes", "y", "x", "won", "closed"}:
        return True
    if raw in {"0", "false", "no", "n", "open", "lost"}:
        return False
    raise ValueError(f"{value!r} is not yes/no")


# --- Tables -------------------------------------------------------------------------------------


class TableError(ValueError):
    """The file as a whole cannot be read (empty, unreadable, missing columns)."""


def read_table(stream, filename: str) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """Headers and (row number, values) pairs of a CSV or XLSX file; row 1 is the header.

    CSV: UTF-8 with or without BOM (else Windows-1252, judged over the whole file), or UTF-16
    with its BOM; delimiter ",", ";" or tab, detected from the header line. Blank rows are
    skipped. A quote the file never closes, or a byte the file's encoding cannot read, raises
    TableError naming its row and column, from the rows when they reach it.
    """
    if filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(stream)
    return _read_csv(stream)


def _read_csv(stream) -> tuple[list[str], Iterator[tuple[int, list]]]:
    head = stream.read(65536)
    if isinstance(head, str):
        head = head.encode()
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise TableError("the file is empty")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # Excel's "Unicode Text" (tab-separated)
    elif b"\x00" in head:
        raise TableError(
            "the file holds NUL bytes, so it is not CSV text: save it as CSV (UTF-8) or XLSX"
        )
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"
        else:  # the rest may still be Windows-1252 (``_Utf8ElseCp1252``)
            encoding = _UTF8_ELSE_CP1252
    text = io.TextIOWrapper(
        _Prefixed(head, stream), encoding=encoding, newline="", errors=_UNDECODABLE_HANDLER
    )
    first_line = head.decode(encoding, errors="replace").splitlines()[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    # A cell as long as the whole upload is read (the row is then refused for its length,
    # naming row and column) rather than stopping the import with csv's own 128 KB limit.
    csv.field_size_limit(max(csv.field_size_limit(), settings.MAX_REQUEST_BYTES))
    # csv reads a quote left open to the end of the file into one cell, silently. After the
    # file's last line the reader is given a blank one: a blank row when every quote was
    # closed, else more of that cell; the row holding it is refused.
    ended = False

    def lines():
        nonlocal ended
        yield from text
        ended = True
        yield "\n"

    reader = csv.reader(lines(), delimiter=delimiter)
    first = next(reader, [])
    if ended:
        raise _unclosed_quote(1, first, [])
    headers = [h.strip().lstrip("\ufeff") for h in first]
    _check_decoded(1, first, headers, encoding)
    if not any(headers):
        raise TableError("the file has no header row")

    def rows():
        for number, values in enumerate(reader, start=2):
            if ended and values:
                raise _unclosed_quote(number, values, headers)
            _check_decoded(number, values, headers, encoding)
            if any(v.strip() for v in values):
                yield number, values

    return headers, rows()


class _Utf8ElseCp1252(codecs.IncrementalDecoder):
    """UTF-8 until a byte that is not UTF-8; then, if all before it was ASCII (which reads the
    same in both), Windows-1252 from the start of the block that holds it to the end.

    The encoding is judged on the first 64 KB; a Windows-1252 file that starts with plain
    ASCII (a large export whose first accented name is on row 3,000) was read as UTF-8, and
    every later accented letter became U+FFFD without a word. Deciding as the bytes come keeps
    the file read once. After UTF-8 that was not ASCII, a byte that is not UTF-8 is a damaged
    or mixed file: it is marked (``_undecodable``) and its row refused (``_check_decoded``)."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.ascii = True  # all decoded so far was ASCII
        self.cp1252 = None

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.cp1252:
            return self.cp1252.decode(data, final)
        try:
            text = self.utf8.decode(data, final)
        except UnicodeDecodeError as error:
            pending = error.object  # the decoder's unfinished bytes, then ``data``
            if self.ascii and pending[: error.start].isascii():
                self.cp1252 = codecs.getincrementaldecoder("cp1252")(self.errors)
                return self.cp1252.decode(pending, final)
            self.utf8 = codecs.getincrementaldecoder("utf-8")(self.errors)
            text = self.utf8.decode(pending, final)
        self.ascii = self.ascii and text.isascii()
        return text

    def reset(self) -> None:
        self.__init__(self.errors)


_UTF8_ELSE_CP1252 = "deal_import_utf8_else_cp1252"
codecs.register(
    lambda name: (
        codecs.CodecInfo(
            name=_UTF8_ELSE_CP1252,
            encode=codecs.utf_8_encode,
            decode=codecs.lookup("utf-8-sig").decode,  # the header line, to find the delimiter
            incrementaldecoder=_Utf8ElseCp1252,
        )
        if name == _UTF8_ELSE_CP1252
        else None
    )
)


def _undecodable(error: UnicodeDecodeError) -> tuple[str, int]:
    """Each byte the file's encoding cannot read becomes a lone surrogate U+DC00 + byte,
    which no successful decode produces, so ``_check_decoded`` finds it and names its cell
    rather than the import storing U+FFFD ("M\ufffdller GmbH") in its place."""
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


_UNDECODABLE_HANDLER = "analytics.parsing.undecodable"
codecs.register_error(_UNDECODABLE_HANDLER, _undecodable)
_UNDECODED = re.compile("[\udc00-\udcff]")
_ENCODING_NAMES = {
    _UTF8_ELSE_CP1252: "UTF-8",
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
}


def _check_decoded(number: int, values: list[str], headers: list[str], encoding: str) -> None:
    """TableError naming the row, column and byte of a cell holding a byte the file's
    encoding cannot read (``_undecodable``): the whole file is refused, nothing saved."""
    if not _UNDECODED.search("".join(values)):  # one search a row: the usual case
        return
    for index, value in enumerate(values):
        if match := _UNDECODED.search(value):
            column = repr(headers[index]) if index < len(headers) else str(index + 1)
            byte = ord(match.group()) - 0xDC00
            raise TableError(
                f"row {number}, column {column}: the byte 0x{byte:02X} is not "
                f"{_ENCODING_NAMES[encoding]} text; save the file as CSV UTF-8 (or XLSX) and "
                "import again"
            )


def _unclosed_quote(number: int, values: list[str], headers: list[str]) -> TableError:
    """The row whose last cell opens a quote that the file never closes."""
    index = len(values) - 1
    column = repr(headers[index]) if index < len(headers) else str(index + 1)
    return TableError(
        f'row {number}, column {column}: a quote (") opens in this cell and is never closed, '
        "so every line after it was read into the cell; close the quote and import again"
    )


class _Prefixed(io.RawIOBase):
    """A byte stream that replays ``head`` before the rest of ``stream``."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        chunk = self.stream.read(len(buffer))
        if isinstance(chunk, str):
            chunk = chunk.encode()
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _check_not_a_zip_bomb(stream) -> None:
    """Measure the workbook's zip directory before openpyxl decompresses anything: a small
    upload must not unpack into gigabytes (the same check as document uploads)."""
    limits = Limits(
        max_unzipped_bytes=settings.XLSX_MAX_UNPACKED_MB * MB,
        max_part_bytes=settings.XLSX_MAX_UNPACKED_MB * MB,
        max_zip_ratio=settings.XLSX_MAX_RATIO,
        ratio_floor_bytes=MB,  # a sheet of deals compresses about 10 to 1, never 100
    )
    try:
        Package(stream, limits=limits)  # reads the zip directory only, refusing a bomb
    except ExtractionError as error:
        raise TableError(str(error)) from None
    finally:
        stream.seek(0)


class UnsavedFormula(str):
    """An XLSX cell holding a formula whose result the file does not carry (written by a
    program that does not calculate, or saved with calculation off): its value is the
    formula, and an import reports the cell rather than reading it as empty."""


def _read_xlsx(stream) -> tuple[list[str], Iterator[tuple[int, list]]]:
    from openpyxl import load_workbook

    _check_not_a_zip_bomb(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        stream.seek(0)  # the same sheet again, with formulas instead of their saved results
        formulas = load_workbook(stream, read_only=True, data_only=False).worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise TableError(f"not a readable XLSX file ({error.__class__.__name__})") from None
    sheet = workbook.worksheets[0]
    rows_of = (sheet.iter_rows(values_only=True), formulas.iter_rows(values_only=True))
    iterator = zip(*rows_of, strict=True)  # the same sheet twice: the same rows
    first, _ = next(iterator, (None, None))
    if not first or not any(cell not in (None, "") for cell in first):
        raise TableError("the file is empty")
    headers = [str(cell or "").strip() for cell in first]

    def value(cell, formula):
        if cell is None and isinstance(formula, str) and formula.startswith("="):
            return UnsavedFormula(formula)
        return "" if cell is None else cell

    def rows():
        for number, (values, written) in enumerate(iterator, start=2):
            cells = [value(*pair) for pair in zip(values, written, strict=True)]
            if any(str(cell).strip() for cell in cells):
                yield number, cells

    return headers, rows()
