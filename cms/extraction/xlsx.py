"""Excel workbooks (.xlsx, and templates and macro-enabled workbooks): sheet by sheet, the
sheet's name, its cells row by row (text, and the values formulas last calculated), its header
and footer, comments, text boxes, charts and embedded documents.

Sheets are streamed (``iterparse``), so a large price list costs its text, not its XML tree.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import cms.extraction.ooxml as ooxml
from cms.extraction.base import Extraction, Limits, Parser, text_extraction
from cms.extraction.embedded import embedded_reader, embedded_text
from cms.extraction.thumbnails import embedded_preview, title_card

# Header/footer codes: fonts (&"Arial,Bold"), sizes (&12), colours (&KFF0000), fields (&P...).
_HEADER_CODES = re.compile(r'&"[^"]*"|&K[0-9A-Fa-f]{6}|&\d+|&[A-Za-z]')
# Built-in number formats that show a date or time (ECMA-376 Part 1, 18.8.30 numFmt; 27-36 and
# 50-58 are the East Asian date formats).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
# A custom format shows a date when, outside quoted text, escapes and [colour] sections, it
# uses a day, month, year, hour or second code.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_DATE_CODES = re.compile(r"[dmyhs]", re.IGNORECASE)
# Serial 0 is 1899-12-31 in the 1900 date system, which also counts 29 February 1900 (serial
# 60) that never existed; the 1904 system counts from 1904-01-01.
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


def _small_number(value: str | None) -> int | None:
    """A style or string index read from the file, or None when it is not a number of at most
    9 digits ("²" passes ``str.isdigit`` but not ``int``; ``int`` refuses over 4300 digits)."""
    text = (value or "").strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def _shared_strings(package: ooxml.Package, workbook: str) -> list[str]:
    strings: list[str] = []
    for rel in package.rels_of_type(workbook, "/sharedStrings"):
        root = package.xml(rel.target)
        if root is None:
            continue
        for item in root:
            if ooxml.local(item.tag) != "si":
                continue
            strings.append(
                "".join(
                    t.text or ""
                    for t in item.iter()
                    if ooxml.local(t.tag) == "t" and not _in_phonetic(t, item)
                )
            )
    return strings


def _in_phonetic(element, stop) -> bool:
    for ancestor in element.iterancestors():
        if ancestor is stop:
            return False
        if ooxml.local(ancestor.tag) == "rPh":  # Japanese reading hints, not shown
            return True
    return False


class _Dates:
    """Which cell styles show a date, and the workbook's date system, so that a date cell
    reads "2024-03-15" rather than its serial number 45366."""

    def __init__(self, package: ooxml.Package, workbook: str) -> None:
        self.styles: frozenset[int] = frozenset()
        root = package.xml(workbook)
        properties = next(
            (
                e
                for e in (root.iter() if root is not None else [])
                if ooxml.local(e.tag) == "workbookPr"
            ),
            None,
        )
        self.epoch = _EPOCH_1900
        if properties is not None and properties.get("date1904") in ("1", "true"):
            self.epoch = _EPOCH_1904
        for rel in package.rels_of_type(workbook, "/styles"):
            styles = package.xml(rel.target)
            if styles is not None:
                self.styles = _date_styles(styles)

    def text(self, style: str | None, value: str) -> str | None:
        """The date (and time, when it has one) a numeric cell of ``style`` shows; None when
        the style is not a date format or the number is not a date."""
        if _small_number(style) not in self.styles:
            return None
        try:
            serial = float(value)
        except ValueError:
            return None
        if not 0 <= serial < 2958466:  # 9999-12-31
            return None
        if serial < 1:  # a time of day
            moment = datetime.min + timedelta(seconds=round(serial * 86400))
            return moment.strftime("%H:%M" if moment.second == 0 else "%H:%M:%S")
        if self.epoch is _EPOCH_1900 and serial < 61:
            serial += 1  # before the phantom 29 February 1900
        moment = self.epoch + timedelta(days=serial)
        moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
        if moment.time() == datetime.min.time():
            return moment.date().isoformat()
        return moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")


def _date_styles(styles) -> frozenset[int]:
    """Indexes of the cell formats (``cellXfs``) whose number format shows a date or time."""
    custom = {}
    for element in styles.iter():
        if ooxml.local(element.tag) == "numFmt":
            code = element.get("formatCode", "")
            elapsed = re.search(r"\[(h+|m+|s+)\]", code, re.IGNORECASE)  # a duration, [h]:mm
            shown = _FORMAT_LITERALS.sub("", code)
            custom[element.get("numFmtId", "")] = not elapsed and bool(_DATE_CODES.search(shown))
    found = set()
    formats = next((e for e in styles if ooxml.local(e.tag) == "cellXfs"), None)
    for index, xf in enumerate(formats if formats is not None else []):
        number_format = xf.get("numFmtId", "0")
        if number_format in custom:
            is_date = custom[number_format]
        else:
            is_date = _small_number(number_format) in _DATE_FORMAT_IDS
        if is_date:
            found.add(index)
    return frozenset(found)


def _sheet_rows(
    data: bytes, strings: list[str], *, max_chars: int, dates: _Dates | None = None
) -> tuple[list[str], str]:
    """Rows of a sheet as tab-separated lines, and its header/footer text."""
    from lxml import etree

    rows: list[str] = []
    cells: list[str] = []
    header: list[str] = []
    size = 0
    events = etree.iterparse(
        io.BytesIO(data), events=("end",), resolve_entities=False, no_network=True, recover=True
    )
    try:
        for _event, element in events:
            if _row_or_header(element, strings, rows, cells, header, dates):
                size += len(rows[-1]) if rows else 0
            if size > max_chars:
                break
    except etree.XMLSyntaxError:
        pass  # a damaged sheet: keep the rows read before the damage
    return rows, " ".join(" ".join(header).split())


def _row_or_header(element, strings, rows, cells, header, dates=None) -> bool:
    """Take one parsed element of a sheet; True when it completed a row."""
    name = ooxml.local(element.tag)
    if name == "c":
        value = _cell_value(element, strings, dates)
        if value:
            cells.append(value)
        element.clear()
    elif name == "row":
        completed = bool(cells)
        if cells:
            rows.append("\t".join(cells))
        cells.clear()
        element.clear()
        return completed
    elif name in ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader"):
        header.append(_HEADER_CODES.sub(" ", element.text or ""))
    return False


def _cell_value(cell, strings: list[str], dates: _Dates | None = None) -> str:
    kind = cell.get("t", "n")
    value = next((child.text for child in cell if ooxml.local(child.tag) == "v"), None)
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter() if ooxml.local(t.tag) == "t")
    if value is None:
        return ""
    if kind == "s":
        index = _small_number(value)
        return strings[index] if index is not None and index < len(strings) else ""
    if kind == "b":
        return "TRUE" if value.strip() == "1" else "FALSE"
    if kind == "e":
        return ""
    if kind == "n" and dates is not None:
        return dates.text(cell.get("s"), value.strip()) or value.strip()
    return value.strip()


def _drawing_text(package: ooxml.Package, sheet: str, *, depth: int) -> list[str]:
    """Text boxes, charts and SmartArt drawn over a sheet."""
    texts = []
    for rel in package.rels_of_type(sheet, "/drawing"):
        root = package.xml(rel.target)
        if root is None:
            continue
        for element in root.iter():
            name = ooxml.local(element.tag)
            if name == "txBody":
                texts.append(ooxml.text_body(element))
            elif name == "graphicFrame":
                texts += ooxml.graphic_frame_text(
                    package,
                    rel.target,
                    element,
                    reader=lambda pkg, target: embedded_text(pkg, target, depth=depth + 1),
                )
    return texts


def _comments(package: ooxml.Package, sheet: str) -> list[str]:
    texts = []
    for rel in package.rels_of_type(sheet, "/comments"):
        root = package.xml(rel.target)
        if root is None:
            continue
        for comment in root.iter():
            if ooxml.local(comment.tag) == "comment":
                texts.append(
                    "".join(t.text or "" for t in comment.iter() if ooxml.local(t.tag) == "t")
                )
    return texts


def _embedded(package: ooxml.Package, sheet: str, *, depth: int) -> list[str]:
    """Objects embedded in a sheet (a document, a deck, a PDF)."""
    rels = package.rels_of_type(sheet, "/package") + package.rels_of_type(sheet, "/oleObject")
    return [embedded_text(package, rel.target, depth=depth + 1) for rel in rels]


def workbook_text(package: ooxml.Package, *, depth: int = 0) -> list[str]:
    """Text of a workbook, one block a sheet (see the module docstring)."""
    workbook = package.main_part()
    root = package.xml(workbook)
    if root is None:
        return []
    rels = package.rels(workbook)
    strings = _shared_strings(package, workbook)
    dates = _Dates(package, workbook)
    blocks: list[str] = []
    budget = package.limits.max_chars
    for sheet in root.iter():
        if ooxml.local(sheet.tag) != "sheet":
            continue
        rel = rels.get(sheet.get(ooxml.q("r", "id")) or "")
        lines = [sheet.get("name", "")]
        if rel is not None and package.has(rel.target):
            rows, header = _sheet_rows(
                package.read(rel.target), strings, max_chars=budget, dates=dates
            )
            lines += [header, *rows]
            lines += _comments(package, rel.target)
            lines += _drawing_text(package, rel.target, depth=depth)
            lines += _embedded(package, rel.target, depth=depth)
            budget -= sum(len(row) for row in rows)
        blocks.append("\n".join(line for line in lines if line and line.strip()))
        if budget <= 0:
            break
    return [block for block in blocks if block and block.strip()]


@embedded_reader("xlsx")
def _embedded_xlsx(package: ooxml.Package, *, depth: int) -> list[str]:
    return workbook_text(package, depth=depth)


class XlsxParser(Parser):
    name = "xlsx"
    label = "Excel"
    extensions = ("xlsx", "xlsm", "xltx", "xltm")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        ooxml.check_office_signature(filename, "xlsx", head, fileobj)

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        package = ooxml.open_office(path, kind="xlsx", limits=limits)
        extraction = text_extraction(workbook_text(package), limits=limits)
        extraction.notes.extend(package.notes())
        width = limits.thumbnail_width
        extraction.thumbnail = embedded_preview(package.thumbnail(), width=width)
        if extraction.thumbnail is None:
            extraction.thumbnail = title_card(Path(filename).stem, label="SPREADSHEET", width=width)
        return extraction


PARSER = XlsxParser
