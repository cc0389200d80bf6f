"""PDF: text page by page, with what a reader sees besides the text layer.

Each page is read on its own, so a malformed page costs that page (and a note, "Page 303 could
not be read.") instead of the file. A page's text is its text layer, then what is attached to
it: comments and notes (annotations), link addresses, the values typed into its form fields.
The bookmarks' titles close the whole text.

Two readers: pypdf (better on rotated and letter-spaced text) and pdfium (repairs broken
files, maps CID and Japanese fonts that pypdf garbles, keeps spaces that pypdf sometimes
drops). pypdf's text is kept unless pdfium's is clearly more word-like, by ``word_share``:
pdfium wins when its share is at least ``PDFIUM_MARGIN`` higher. When pypdf cannot open the
file at all (no cross-reference table...), pdfium reads it alone.

Pages without a text layer that hold an image look scanned: Tesseract reads up to
``Limits.ocr_pages`` of them within the time left; without Tesseract the document says so.
"""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
import threading
import time
from pathlib import Path

import cms.extraction.ocr as ocr
from cms.extraction.base import (
    Budget,
    Extraction,
    ExtractionError,
    Limits,
    Page,
    Parser,
    clean,
    incomplete_note,
    numbers_phrase,
    paged_extraction,
    pages_note,
    password_error,
)
from cms.extraction.embedded import embedded_reader
from cms.extraction.thumbnails import is_blank, png, title_card

PDFIUM_MARGIN = 0.15
# pypdf is pure Python and some files make it crawl: a page may take it PAGE_SECONDS, a file
# PYPDF_SECONDS in all; past that pdfium (C, ~30x faster) reads the rest alone.
PAGE_SECONDS = 5.0
PYPDF_SECONDS = 20.0
_BAD = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b-\x1f]|\(cid:\d+\)")
_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f\uf900-\ufaff]")
_EDGE_PUNCTUATION = "\"'“”‘’()[]{}<>.,;:!?¿¡-–—/\\*•·…%$€£#&+=|"


def word_share(text: str) -> float:
    """How word-like a text is, from 0 to 1: the share of its non-space characters that are in
    plausible words.

    A token (split on whitespace) counts when, stripped of edge punctuation, it is a word or a
    number of at most 25 characters (longer ones are words run together: lost spaces), or a
    run of CJK, kana, Hangul or Thai characters (scripts written without spaces); a token with
    a replacement character, a private-use character, a control character or ``(cid:N)`` never
    counts (a font without a usable character map).
    """
    total = good = 0
    for token in text.split():
        total += len(token)
        if _BAD.search(token):
            continue
        core = token.strip(_EDGE_PUNCTUATION)
        if not core:
            continue
        if _CJK.search(core) or (len(core) <= 25 and _WORD.fullmatch(core)):
            good += len(token)
    return good / total if total else 0.0


def choose_text(pypdf_text: str, pdfium_text: str) -> tuple[str, str]:
    """The better reading of a page and which reader gave it ("pypdf" or "pdfium")."""
    if not pypdf_text.strip():
        return (pdfium_text, "pdfium") if pdfium_text.strip() else ("", "pypdf")
    if pdfium_text.strip() and word_share(pdfium_text) >= word_share(pypdf_text) + PDFIUM_MARGIN:
        return pdfium_text, "pdfium"
    return pypdf_text, "pypdf"


class PageTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise PageTimeout in this thread after ``seconds`` (main thread only; elsewhere, and for
    time spent inside C code, the sandbox's own timeout is the bound)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise PageTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- Opening ---------------------------------------------------------------------------------


def _open_pypdf(path: Path):
    """A pypdf reader, unlocked when only an owner password restricts it; None when pypdf
    cannot read the file's structure."""
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        with time_limit(PYPDF_SECONDS):  # rebuilding a broken file's structure can crawl
            reader = pypdf.PdfReader(str(path), strict=False)
            if reader.is_encrypted:
                try:
                    unlocked = reader.decrypt("")
                except DependencyError as error:
                    raise ExtractionError(
                        "The PDF uses encryption this server cannot read (the cryptography "
                        "package is missing); ask an administrator."
                    ) from error
                if not unlocked:
                    raise password_error("PDF")
            len(reader.pages)
        return reader
    except ExtractionError:
        raise
    except FileNotDecryptedError as error:
        raise password_error("PDF") from error
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - pdfium may still read what pypdf cannot
        return None


def _open_pdfium(path: Path):
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        if "password" in str(error).lower():
            raise password_error("PDF") from error
        return None


# --- Reading a page --------------------------------------------------------------------------


def _pypdf_text(reader, index: int, seconds: float) -> str | None:
    if reader is None:
        return None
    try:
        with time_limit(min(PAGE_SECONDS, max(seconds, 0.5))):
            return reader.pages[index].extract_text() or ""
    except RecursionError:
        return None
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - a malformed page must not cost the others
        return None


def _pdfium_text(document, index: int) -> str | None:
    if document is None or index >= len(document):
        return None
    try:
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                return textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - pdfium raises PdfiumError and others on bad pages
        return None


def _decoded(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_decoded(item) for item in value)
    text = str(value)
    if text.startswith("/"):
        return ""  # a name, such as a checkbox state (/Yes, /Off), not words
    return text


def _page_extras(reader, index: int) -> list[str]:
    """Annotation comments (author, subject, text), link addresses and form-field values on
    a page."""
    if reader is None:
        return []
    texts: list[str] = []
    try:
        annotations = reader.pages[index].get("/Annots") or []
        for reference in annotations[:2000]:
            annotation = reference.get_object()
            subtype = annotation.get("/Subtype")
            if subtype == "/Widget":
                texts.append(_field_text(annotation))
            elif subtype == "/Link":
                action = annotation.get("/A")
                action = action.get_object() if action is not None else {}
                texts.append(_decoded(action.get("/URI")))
            elif subtype != "/Popup":
                for key in ("/T", "/Subj", "/Contents"):
                    texts.append(_decoded(annotation.get(key)))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - malformed annotations are skipped, not fatal
        return [text for text in texts if text.strip()]
    return [text for text in texts if text.strip()]


def _field_text(widget) -> str:
    """A form field's value, looked up through its parents (a field's widgets inherit it)."""
    node, depth = widget, 0
    while node is not None and depth < 10:
        if "/V" in node:
            value = _decoded(node.get("/V"))
            name = _decoded(node.get("/TU") or node.get("/T"))
            return f"{name}: {value}" if value and name else value
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    return ""


def _has_image(document, index: int) -> bool:
    import pypdfium2.raw as pdfium_c

    if document is None:
        return False
    try:
        page = document[index]
        try:
            return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
        finally:
            page.close()
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001
        return False


# --- The whole file --------------------------------------------------------------------------


_OBJECT = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_CATALOG = re.compile(rb"/Type\s*/Catalog\b")


def rebuilt_cross_references(data: bytes) -> bytes | None:
    """``data`` with a new cross-reference table and trailer found by scanning for objects (as
    PDFBox does for files whose own are missing or wrong), or None without a catalog."""
    offsets: dict[int, int] = {}
    root = None
    for match in _OBJECT.finditer(data):
        number = int(match.group(1))
        if number >= 10_000_000:
            continue
        offsets[number] = match.start()  # the last definition of an object wins
        end = data.find(b"endobj", match.end())
        if root is None and _CATALOG.search(data, match.end(), end if end > 0 else len(data)):
            root = number
    if root is None:
        return None
    size = max(offsets) + 1
    table = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
    for number in range(1, size):
        offset = offsets.get(number)
        table.append(
            b"%010d 00000 n \n" % offset if offset is not None else b"0000000000 65535 f \n"
        )
    start = len(data) + 1
    trailer = b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        start,
    )
    return data + b"\n" + b"".join(table) + trailer


class _PdfRead:
    """Reads one PDF within a budget; collects pages, notes and what OCR should look at."""

    def __init__(self, path: Path, limits: Limits):
        self.limits = limits
        self.budget = Budget(limits)
        self._repaired = None
        self.reader = _open_pypdf(path)
        self.document = _open_pdfium(path)
        if self.reader is None and self.document is None:
            self._open_repaired(path)
        if self.reader is None and self.document is None:
            raise ExtractionError(
                "The PDF is damaged or incomplete and could not be read; "
                "export it again from the original and upload the new file."
            )
        self.page_count = len(self.reader.pages) if self.reader is not None else len(self.document)
        self.ending = file_ending(path)
        self.declared_pages = self._declared_page_count()
        self.pypdf_seconds = 0.0
        self.unreadable: list[int] = []
        self.scanned: list[int] = []
        self.notes: list[str] = []

    def pages(self) -> list[Page]:
        pages = []
        last = min(self.page_count, self.limits.max_pages)
        for index in range(last):
            if self.budget.seconds_left() <= 0 or self.budget.full:
                self.notes.append(self._stopped_note(index, last))
                break
            pages.append(self._page(index))
        else:
            if self.page_count > self.limits.max_pages:
                self.notes.append(pages_note(self.limits.max_pages, self.page_count, "pages"))
        return pages

    def _stopped_note(self, index: int, last: int) -> str:
        if self.budget.full:
            return f"Only the first {self.limits.max_chars:,} characters were kept for search."
        return (
            f"Only the first {index} of {last} pages were read in the "
            f"{self.limits.seconds:g} seconds allowed."
        )

    def _page(self, index: int) -> Page:
        first = None
        if self.pypdf_seconds < PYPDF_SECONDS:
            started = time.monotonic()
            first = _pypdf_text(self.reader, index, self.budget.seconds_left())
            self.pypdf_seconds += time.monotonic() - started
        second = _pdfium_text(self.document, index)
        if first is None and second is None:
            self.unreadable.append(index + 1)
            return Page(index + 1, "")
        text, _source = choose_text(first or "", second or "")
        if not text.strip() and _has_image(self.document, index):
            self.scanned.append(index + 1)
        extras = _page_extras(self.reader, index)
        return Page(index + 1, self.budget.take("\n".join([text, *extras])))

    def recognise(self, pages: list[Page]) -> None:
        """OCR the pages that look scanned, within the page and time limits; note the rest."""
        if not self.scanned:
            return
        by_number = {page.number: page for page in pages}
        if not ocr.available(self.limits):
            self.notes.append(ocr.unavailable_note(self.scanned, self.page_count))
            return
        done, skipped, empty = ocr.recognise_pages(
            self.document, self.scanned, limits=self.limits, budget=self.budget
        )
        for number, text in done.items():
            by_number[number].text = (by_number[number].text + "\n" + text).strip()
        self.notes.extend(ocr.done_notes(list(done), skipped, empty))

    def thumbnail(self, title: str) -> bytes:
        width = self.limits.thumbnail_width
        for index in range(min(3, len(self.document) if self.document is not None else 0)):
            try:
                image = render_page(self.document, index, width=width)
            except ExtractionError:
                break
            if not is_blank(image):
                return png(image)
        return title_card(title, label="PDF", width=width, portrait=True)

    def outline(self) -> str:
        """The titles of the bookmarks (the outline a PDF viewer shows beside the pages)."""
        titles: list[str] = []

        def walk(items, depth: int) -> None:
            for item in items:
                if len(titles) >= 2000 or depth > 20:
                    return
                if isinstance(item, list):
                    walk(item, depth + 1)
                else:
                    titles.append(_decoded(getattr(item, "title", None)))

        if self.reader is not None:
            try:
                with time_limit(min(5.0, max(self.budget.seconds_left(), 0.5))):
                    walk(self.reader.outline, 0)
            except MemoryError:
                raise
            except Exception:  # noqa: BLE001, S110 - a broken outline is not worth failing the file
                pass
        return "\n".join(title for title in titles if title.strip())

    def _declared_page_count(self) -> int | None:
        """The page count the file's page tree declares (``/Count``), which readers cannot
        reach when the file was cut off or its page tree is damaged; None when unknown."""
        if self.reader is None:
            return None
        try:
            count = self.reader.trailer["/Root"]["/Pages"]["/Count"]
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - no usable page tree: nothing declared
            return None
        return count if isinstance(count, int) and 0 < count < 10_000_000 else None

    def damage_note(self) -> str | None:
        """What the marketer should know about a file that was cut off, whose structure had to
        be rebuilt, or whose pages are fewer than it declares; None for a sound file."""
        missing = self.declared_pages is not None and self.declared_pages > self.page_count
        if self.ending == "cut off":
            note = incomplete_note("pages")
        elif missing:
            note = (
                "The file is damaged (it lists more pages than it holds); the text of the "
                "pages that could be read is shown."
            )
        elif self.ending == "damaged" or self._repaired is not None:
            note = (
                "The file is damaged (its structure had to be rebuilt); the text of the pages "
                "that could be read is shown."
            )
        else:
            return None
        if missing:
            note = note[:-1] + f": {self.page_count} of its {self.declared_pages} pages."
        return note + " Export it again from the original and upload the new file."

    def _open_repaired(self, path: Path) -> None:
        """Last resort for a file neither reader opens: rebuild its cross-references."""
        if path.stat().st_size > 200 * 1024 * 1024:
            return
        repaired = rebuilt_cross_references(path.read_bytes())
        if repaired is None:
            return
        self._repaired = tempfile.NamedTemporaryFile(suffix=".pdf")  # noqa: SIM115 - closed in close()
        self._repaired.write(repaired)
        self._repaired.flush()
        self.reader = _open_pypdf(Path(self._repaired.name))
        self.document = _open_pdfium(Path(self._repaired.name))

    def close(self) -> None:
        if self._repaired is not None:
            self._repaired.close()
        if self.document is not None:
            self.document.close()


_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF\s*$")
_XREF_START = re.compile(rb"\s*(?:xref\b|\d+\s+\d+\s+obj\b)")


def file_ending(path: Path) -> str:
    """How the file ends: "complete" (``startxref``, the offset of a cross-reference section
    found there, ``%%EOF``, as every sound PDF ends), "cut off" (no ``%%EOF`` in its last 1024
    bytes: cut off in transit) or "damaged" (an end that points at no cross-references, so a
    reader has to rebuild them). Trailing whitespace and NUL padding are ignored."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 4096))
        tail = handle.read().rstrip(b" \t\r\n\x00")[-1024:]
        if b"%%EOF" not in tail:
            return "cut off"
        match = _STARTXREF.search(tail)
        if match is None:
            return "damaged"
        handle.seek(0)
        header = max(handle.read(1024).find(b"%PDF-"), 0)  # offsets may count from the header
        for offset in {int(match.group(1)), int(match.group(1)) + header}:
            if offset < size:
                handle.seek(offset)
                if _XREF_START.match(handle.read(64)):
                    return "complete"
        return "damaged"


def render_page(document, index: int, *, width: int, max_height_ratio: float = 2.0):
    """A PIL image of page ``index`` (from 0), ``width`` pixels wide, height capped."""
    try:
        page = document[index]
        try:
            page_width, page_height = page.get_size()
            scale = min(
                width / max(page_width, 1), (max_height_ratio * width) / max(page_height, 1)
            )
            return page.render(scale=scale).to_pil()
        finally:
            page.close()
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001
        raise ExtractionError(f"Page {index + 1} could not be drawn.") from error


def render_pdf_page(path: Path, *, number: int, width: int) -> bytes:
    """PNG of page ``number`` (from 1) of the PDF at ``path``, ``width`` pixels wide: the page
    preview search results show. Raises ExtractionError when the page does not exist or cannot
    be drawn; run it in the sandbox (``cms.extraction.render_page_bounded``)."""
    document = _open_pdfium(path)
    if document is None:
        raise ExtractionError("The PDF could not be opened to draw a page.")
    try:
        if not 1 <= number <= len(document):
            raise ExtractionError(f"The PDF has no page {number}.")
        return png(render_page(document, number - 1, width=width))
    finally:
        document.close()


def read_pdf(path: Path, *, filename: str, limits: Limits, thumbnail: bool = True) -> Extraction:
    read = _PdfRead(path, limits)
    try:
        pages = read.pages()
        read.recognise(pages)
        if read.unreadable:
            numbers = read.unreadable
            verb = "Page" if len(numbers) == 1 else "Pages"
            read.notes.insert(0, f"{verb} {numbers_phrase(numbers)} could not be read.")
        damage = read.damage_note()
        if damage:
            read.notes.insert(0, damage)
        extraction = paged_extraction(pages, limits=limits, page_count=read.page_count)
        extraction.notes = list(dict.fromkeys(read.notes + extraction.notes))
        outline = clean(read.outline())
        if outline and len(extraction.text) + len(outline) < limits.max_chars:
            extraction.text = f"{extraction.text}\n\n{outline}".strip()
        title = next((line for line in extraction.text.splitlines() if line.strip()), "")
        if thumbnail:
            extraction.thumbnail = read.thumbnail(title or Path(filename).stem)
        return extraction
    finally:
        read.close()


@embedded_reader("pdf")
def _embedded_pdf(path: Path, *, limits: Limits) -> str:
    return read_pdf(path, filename="embedded.pdf", limits=limits, thumbnail=False).text


class PdfParser(Parser):
    name = "pdf"
    label = "PDF"
    extensions = ("pdf",)

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        if b"%PDF-" not in head[:1024]:
            raise ExtractionError(f"“{filename}” is not a PDF: it does not start like one.")

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        return read_pdf(path, filename=filename, limits=limits)


PARSER = PdfParser
