"""Word documents (.docx, and templates and macro-enabled files saved under any of their
extensions): everything a reader sees, in reading order.

Headers come first, then the body (paragraphs, tables with the tables nested in their cells,
content controls, text boxes after the paragraph that anchors them, charts and SmartArt,
tracked insertions but not tracked deletions, equations), then footers, footnotes, endnotes
and comments. Elements are matched by local name, so Strict OOXML files read the same.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree, html

import cms.extraction.ooxml as ooxml
from cms.extraction.base import Extraction, Limits, Parser, text_extraction
from cms.extraction.embedded import EMBEDDED_SUFFIXES, embedded_reader, embedded_text
from cms.extraction.text import decode_text
from cms.extraction.thumbnails import embedded_preview, title_card
from cms.extraction.tika import xhtml_text

# Containers whose content is not what a reader sees: properties, deleted text, field codes,
# the fallback copy of a drawing (its first choice is read instead).
_SKIPPED = {
    "pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "sdtPr", "sdtEndPr",
    "del", "delText", "moveFrom", "instrText", "delInstrText", "Fallback",
    "footnoteReference", "endnoteReference", "commentReference", "annotationRef",
    "bookmarkStart", "bookmarkEnd", "proofErr", "lastRenderedPageBreak",
}  # fmt: skip
_NOTE_SEPARATORS = {"separator", "continuationSeparator", "continuationNotice"}
_PAGES = re.compile(rb"<(?:\w+:)?Pages>\s*(\d{1,6})\s*<")


class _Reader:
    """Walks one part of a Word package, collecting blocks of text (paragraphs, table rows)."""

    def __init__(self, package: ooxml.Package, part: str, *, depth: int):
        self.package = package
        self.part = part
        self.depth = depth

    def blocks(self, container) -> list[str]:
        out: list[str] = []
        self._blocks(container, out)
        return out

    def _blocks(self, container, out: list[str]) -> None:
        for child in container:
            name = ooxml.local(child.tag)
            if name == "p":
                self._paragraph(child, out)
            elif name == "tbl":
                self._table(child, out)
            elif name == "AlternateContent":
                self._blocks(_first_choice(child), out)
            elif name == "altChunk":
                out.append(self._alt_chunk(child))
            elif name and name not in _SKIPPED:
                self._blocks(child, out)  # sdt, sdtContent, customXml, ins, moveTo, body...

    def _table(self, table, out: list[str]) -> None:
        for row in table:
            if ooxml.local(row.tag) == "tr":
                cells = [
                    "\n".join(self.blocks(cell))
                    for cell in row.iter()
                    if ooxml.local(cell.tag) == "tc" and _row_of(cell) is row
                ]
                out.append("\t".join(cell for cell in cells if cell.strip()))
            elif ooxml.local(row.tag) not in _SKIPPED:  # rows inside content controls
                self._table(row, out)

    def _paragraph(self, paragraph, out: list[str]) -> None:
        texts: list[str] = []
        floating: list[str] = []  # text boxes, charts, diagrams anchored in the paragraph
        self._inline(paragraph, texts, floating)
        out.append("".join(texts))
        out.extend(floating)

    def _inline(self, element, texts: list[str], floating: list[str]) -> None:
        for child in element:
            name = ooxml.local(child.tag)
            if name == "t":
                texts.append(child.text or "")
            elif name in ("tab", "ptab"):
                texts.append("\t")
            elif name in ("br", "cr"):
                texts.append("\n")
            elif name == "noBreakHyphen":
                texts.append("-")
            elif name == "ruby":  # East Asian text with its reading: base, then (reading)
                self._ruby(child, texts, floating)
            elif name == "txbxContent":
                floating.extend(self.blocks(child))
            elif name == "AlternateContent":
                self._inline(_first_choice(child), texts, floating)
            elif name in ("graphicData", "object"):
                floating.extend(self._graphic(child))
                self._inline(child, texts, floating)
            elif name and name not in _SKIPPED:
                self._inline(child, texts, floating)

    def _ruby(self, ruby, texts: list[str], floating: list[str]) -> None:
        parts = {ooxml.local(child.tag): child for child in ruby}
        if "rubyBase" in parts:
            self._inline(parts["rubyBase"], texts, floating)
        if "rt" in parts:
            reading: list[str] = []
            self._inline(parts["rt"], reading, floating)
            if "".join(reading).strip():
                texts.append(f" ({''.join(reading)})")

    def _alt_chunk(self, element) -> str:
        """Content another program pasted in as a whole part (HTML, MHT, text, a document)."""
        rel = self.package.rels(self.part).get(element.get(ooxml.q("r", "id")) or "")
        if rel is None:
            return ""
        if rel.target.lower().endswith(EMBEDDED_SUFFIXES):
            return embedded_text(self.package, rel.target, depth=self.depth + 1)
        data = self.package.read_optional(rel.target)
        return alt_chunk_text(rel.target, data) if data else ""

    def _graphic(self, element) -> list[str]:
        return ooxml.graphic_frame_text(self.package, self.part, element, reader=self._embedded)

    def _embedded(self, package: ooxml.Package, target: str) -> str:
        return embedded_text(package, target, depth=self.depth + 1)


def alt_chunk_text(name: str, data: bytes) -> str:
    """Text of an alternative-format chunk: HTML, a web archive (MHT) or plain text."""
    lowered = name.lower()
    if lowered.endswith((".mht", ".mhtml")):
        import email
        from email import policy

        message = email.message_from_bytes(data, policy=policy.default)
        part = message.get_body(preferencelist=("html", "plain"))
        if part is None:
            return ""
        data = part.get_content().encode("utf-8") if part.get_content_type() == "text/html" else b""
        if not data:
            return part.get_content()
        lowered = ".html"
    if lowered.endswith((".htm", ".html", ".xhtml")):
        encoding = None if b"charset" in data[:4096].lower() else "utf-8"  # else as declared
        try:
            parser = html.HTMLParser(encoding=encoding)
            body = html.document_fromstring(data, parser=parser).find("body")
        except (etree.ParserError, ValueError):
            return ""
        return xhtml_text(body) if body is not None else ""
    if lowered.endswith(".txt"):
        return decode_text(data)
    return ""


def _first_choice(alternate):
    for child in alternate:
        if ooxml.local(child.tag) == "Choice":
            return child
    return alternate


def _row_of(cell):
    for ancestor in cell.iterancestors():
        if ooxml.local(ancestor.tag) == "tr":
            return ancestor
    return None


def _part_blocks(package: ooxml.Package, part: str, *, depth: int, skip_types=()) -> list[str]:
    root = package.xml(part)
    if root is None:
        return []
    reader = _Reader(package, part, depth=depth)
    if not skip_types:
        return reader.blocks(root)
    blocks = []
    for note in root:  # footnotes and endnotes: leave out the separator lines
        kind = next((v for k, v in note.attrib.items() if ooxml.local(k) == "type"), "")
        if kind not in skip_types:
            blocks.extend(reader.blocks([note]))
    return blocks


def docx_text(package: ooxml.Package, *, depth: int = 0) -> list[str]:
    """Blocks of text of a Word package in reading order (see the module docstring)."""
    main = package.main_part()
    rels = package.rels(main)
    headers, footers = [], []
    for rel in rels.values():
        if rel.type.endswith("/header"):
            headers.append("\n".join(_part_blocks(package, rel.target, depth=depth)))
        elif rel.type.endswith("/footer"):
            footers.append("\n".join(_part_blocks(package, rel.target, depth=depth)))
    blocks = _unique(headers)
    blocks += _part_blocks(package, main, depth=depth)
    blocks += _unique(footers)
    for suffix in ("/footnotes", "/endnotes", "/comments"):
        for rel in rels.values():
            if rel.type.endswith(suffix):
                blocks += _part_blocks(
                    package, rel.target, depth=depth, skip_types=_NOTE_SEPARATORS
                )
    return blocks


@embedded_reader("docx")
def _embedded_docx(package: ooxml.Package, *, depth: int) -> list[str]:
    return docx_text(package, depth=depth)


def _unique(texts: list[str]) -> list[str]:
    seen, kept = set(), []
    for text in texts:
        if text.strip() and text not in seen:
            seen.add(text)
            kept.append(text)
    return kept


def saved_page_count(package: ooxml.Package) -> int | None:
    """Word records the page count in docProps/app.xml when it saves; None when absent."""
    if not package.has("docProps/app.xml"):
        return None
    match = _PAGES.search(package.read("docProps/app.xml"))
    return int(match.group(1)) if match else None


class DocxParser(Parser):
    name = "docx"
    label = "Word"
    extensions = ("docx", "docm", "dotx", "dotm")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        ooxml.check_office_signature(filename, "docx", head, fileobj)

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        package = ooxml.open_office(path, kind="docx", limits=limits)
        extraction = text_extraction(["\n".join(docx_text(package))], limits=limits)
        extraction.page_count = saved_page_count(package)
        extraction.notes.extend(package.notes())
        width = limits.thumbnail_width
        extraction.thumbnail = embedded_preview(package.thumbnail(), width=width)
        if extraction.thumbnail is None:
            title = next((line for line in extraction.text.splitlines() if line.strip()), "")
            extraction.thumbnail = title_card(
                title or Path(filename).stem, label="DOCUMENT", width=width, portrait=True
            )
        return extraction


PARSER = DocxParser
