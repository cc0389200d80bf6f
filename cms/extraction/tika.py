"""Formats Python reads badly (Word 97-2003 .doc, PowerPoint .ppt, Excel .xls, OpenDocument,
RTF, Outlook .msg), sent to an Apache Tika server when ``TIKA_URL`` names one (as
paperless-ngx does). Without a server they are stored but not searchable, and the document
says why.

Tika's ``/rmeta/html`` answers with one JSON object per document (the file first, then its
attachments and embedded files): their XHTML, in which ``div class="page"`` (PDF) or
``div class="slide"`` (decks) separate pages, and whether the file is encrypted.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from cms.extraction.base import (
    Extraction,
    ExtractionError,
    Limits,
    Page,
    Parser,
    join,
    paged_extraction,
    password_error,
    text_extraction,
    with_article,
)
from cms.extraction.ooxml import OLE_MAGIC, ZIP_MAGIC, Package, newer_format_message
from cms.extraction.thumbnails import title_card

LABELS = {
    "doc": ("Word", "DOCUMENT"),
    "ppt": ("PowerPoint", "SLIDES"),
    "pps": ("PowerPoint", "SLIDES"),
    "xls": ("Excel", "SPREADSHEET"),
    "odt": ("OpenDocument text", "DOCUMENT"),
    "odp": ("OpenDocument presentation", "SLIDES"),
    "ods": ("OpenDocument spreadsheet", "SPREADSHEET"),
    "rtf": ("RTF", "DOCUMENT"),
    "msg": ("Outlook message", "EMAIL"),
}
_BLOCKS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br", "title", "pre"}


def xhtml_text(element) -> str:
    """Readable text of an XHTML element: blocks on their own lines, cells tab-separated."""
    parts: list[str] = []

    def walk(node):
        if not isinstance(node.tag, str):
            return  # a comment or processing instruction (its tail is the parent's business)
        name = node.tag.rsplit("}", 1)[-1]
        if name in ("head", "script", "style"):
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if name in _BLOCKS:
            parts.append("\n")
        elif name in ("td", "th"):
            parts.append("\t")

    walk(element)
    return "".join(parts)


def _pages(body) -> list[str]:
    """Text of each ``div.page``/``div.slide`` directly in the body (or its slide show)."""
    pages = []
    for div in body.iter("{*}div"):
        if div.get("class") in ("page", "slide"):
            pages.append(xhtml_text(div))
    return pages


def _parse_xhtml(content: str):
    """The body of Tika's (X)HTML, parsed leniently; None when there is none."""
    from lxml import etree, html

    if not content.strip():
        return None
    try:  # bytes with their encoding named: lxml would otherwise guess Latin-1
        parser = html.HTMLParser(encoding="utf-8")
        root = html.document_fromstring(content.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        return None
    return root.find("body")


def _request(path: Path, filename: str, limits: Limits) -> list[dict]:
    url = limits.tika_url.rstrip("/") + "/rmeta/html"
    with open(path, "rb") as body:
        request = urllib.request.Request(  # noqa: S310 - the administrator's TIKA_URL
            url,
            data=body,
            method="PUT",
            headers={
                "Accept": "application/json",
                "Content-Type": "application/octet-stream",  # Tika detects the type itself
                # OCR stays ours (scanned PDF pages, bounded); Tika would read every picture.
                "X-Tika-OCRskipOcr": "true",
                "Content-Length": str(path.stat().st_size),
                "Content-Disposition": f'attachment; filename="{Path(filename).name}"',
                "writeLimit": str(limits.max_chars * 2),
                "maxEmbeddedResources": "100",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=limits.tika_seconds) as response:  # noqa: S310
                return json.loads(response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            if error.code == 422:
                raise ExtractionError(
                    "The file is damaged and could not be read (Apache Tika could not parse it)."
                ) from error
            raise _server_error(limits) from error
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise _server_error(limits) from error


def _server_error(limits: Limits) -> ExtractionError:
    return ExtractionError(
        f"The text extraction server (Apache Tika at {limits.tika_url}) did not answer; "
        "the file is stored. Try “Process again” later, or tell an administrator."
    )


def read_with_tika(path: Path, *, filename: str, limits: Limits, label: str) -> Extraction:
    """Text (and pages, for paged formats) of a file as the Tika server reads it."""
    documents = _request(path, filename, limits)
    if not documents:
        raise ExtractionError("The file is damaged and could not be read.")
    container = documents[0]
    if str(container.get("X-TIKA:encrypted", "")).lower() == "true":
        raise password_error(f"{label} file")
    if any(key.startswith("X-TIKA:EXCEPTION:container") for key in container):
        raise ExtractionError(f"The {label} file is damaged and could not be read.")
    body = _parse_xhtml(container.get("X-TIKA:content") or "")
    attachments = join(
        xhtml_text(root)
        for doc in documents[1:]
        if (root := _parse_xhtml(doc.get("X-TIKA:content") or "")) is not None
    )
    page_texts = _pages(body) if body is not None else []
    if page_texts:
        pages = [Page(number, text) for number, text in enumerate(page_texts, 1)]
        if attachments:
            pages[-1].text += "\n\n" + attachments
        extraction = paged_extraction(pages[: limits.max_pages], limits=limits)
        extraction.page_count = len(pages)
    else:
        whole = xhtml_text(body) if body is not None else ""
        extraction = text_extraction([whole, attachments], limits=limits)
        count = str(container.get("xmpTPg:NPages") or container.get("meta:page-count") or "")
        extraction.page_count = int(count) if count.isdecimal() and len(count) <= 9 else None
    return extraction


def _newer_kind(fileobj) -> str:
    """ "docx", "pptx" or "xlsx" when ``fileobj`` is that kind of Office package (a modern file
    saved under its older extension), else ""."""
    fileobj.seek(0)
    try:
        return Package(fileobj, limits=Limits()).kind()
    except ExtractionError:
        return ""


class TikaParser(Parser):
    name = "tika"
    label = "Office"
    extensions = tuple(LABELS)

    @classmethod
    def unavailable(cls, limits: Limits) -> str | None:
        if limits.tika_url:
            return None
        return (
            "The file is stored and can be downloaded, but its text is not searchable: this "
            "format is read only when an Apache Tika server is configured (TIKA_URL). Saving it "
            "in a current format (.docx, .pptx, .xlsx or PDF) makes it searchable."
        )

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        extension = filename.rsplit(".", 1)[-1].lower()
        label = LABELS[extension][0]
        expected = {
            "doc": OLE_MAGIC, "ppt": OLE_MAGIC, "pps": OLE_MAGIC, "xls": OLE_MAGIC,
            "msg": OLE_MAGIC, "odt": ZIP_MAGIC, "odp": ZIP_MAGIC, "ods": ZIP_MAGIC,
            "rtf": b"{\\rtf",
        }[extension]  # fmt: skip
        if expected == OLE_MAGIC and head.startswith(ZIP_MAGIC):
            newer = _newer_kind(fileobj)
            if newer:
                raise ExtractionError(newer_format_message(filename, kind=newer))
        if not head.startswith(expected):
            raise ExtractionError(
                f"“{filename}” is not {with_article(label)} file: it does not start like one."
            )

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        extension = filename.rsplit(".", 1)[-1].lower()
        label, card = LABELS[extension]
        extraction = read_with_tika(path, filename=filename, limits=limits, label=label)
        title = next((line for line in extraction.text.splitlines() if line.strip()), "")
        extraction.thumbnail = title_card(
            title or Path(filename).stem,
            label=card,
            width=limits.thumbnail_width,
            portrait=card not in ("SLIDES", "SPREADSHEET"),
        )
        return extraction


PARSER = TikaParser
