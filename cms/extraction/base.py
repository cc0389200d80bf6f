"""What every format module shares: the result, the error, the bounds, and clean text.

Plain Python without Django, so it runs inside the sandboxed worker processes.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MB = 1024 * 1024


class ExtractionError(Exception):
    """A file could not be processed; ``str(error)`` is a sentence for whoever uploaded it.

    ``status`` is what the library records: ``"failed"`` (damaged, too big, too slow...) or
    ``"protected"`` (a password keeps its contents unreadable).
    """

    def __init__(self, message: str, *, status: str = "failed"):
        super().__init__(message)
        self.status = status


def password_error(kind: str) -> ExtractionError:
    return ExtractionError(
        f"The {kind} is protected by a password, so its text cannot be read. "
        "Upload a copy without a password to make it searchable.",
        status="protected",
    )


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost, and the optional services extraction may call.

    Sizes are bytes. A zip part is treated as a zip bomb when it declares more than
    ``max_part_bytes`` unpacked, or when it is compressed more than ``max_zip_ratio`` to 1
    *and* declares more than ``ratio_floor_bytes`` (a 5 MB blank bitmap compresses 500 to 1
    and is harmless). ``max_unzipped_bytes`` bounds everything actually unpacked.
    """

    max_pages: int = 500
    max_chars: int = 2_000_000
    max_unzipped_bytes: int = 256 * MB
    max_part_bytes: int = 128 * MB
    max_zip_ratio: int = 200
    ratio_floor_bytes: int = 32 * MB
    max_zip_members: int = 5_000
    max_nesting: int = 2  # a deck may embed a workbook; one inside that is as deep as we look
    max_image_pixels: int = 50_000_000
    thumbnail_width: int = 400
    seconds: float = 55.0  # stop reading new pages after this; the sandbox kills at its timeout
    ocr_pages: int = 20  # pages without a text layer read by Tesseract; 0 turns OCR off
    ocr_languages: str = "eng"
    tika_url: str = ""  # an Apache Tika server for the formats Python reads badly
    tika_seconds: float = 50.0


@dataclass
class Page:
    """The text of one PDF page or one slide (its notes included); ``number`` starts at 1."""

    number: int
    text: str


@dataclass
class Extraction:
    """What a file yielded.

    ``text`` is everything a reader of the file would see, in reading order. For PDFs and decks
    ``pages`` holds the same text page by page (slide by slide, notes included), so every
    page's text is also in ``text``, in page order; other formats have no pages. ``searchable``
    is False for files that carry no text (images).
    """

    text: str = ""
    pages: list[Page] = field(default_factory=list)
    page_count: int | None = None
    thumbnail: bytes | None = None
    notes: list[str] = field(default_factory=list)
    searchable: bool = True


def extension_of(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower().lstrip(".")


# --- Clean text ------------------------------------------------------------------------------

# Control characters other than tab and newline (PDF fonts often map bullets to DEL, 0x7f) and
# the non-characters pdfium marks soft hyphens with; they mean nothing to a reader and show as
# boxes in snippets.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
# Half of a UTF-16 surrogate pair cannot be encoded as UTF-8: databases and JSON writers fail
# on it. Broken font maps and truncated strings produce them.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


# Compatibility characters that stand for ordinary letters, which a reader sees as those letters
# and a searcher types as them: the Latin and Armenian ligatures PDFs carry when a font drew
# "fi" as one glyph (U+FB00-U+FB17, "ﬁnancial"), Hebrew and Arabic presentation forms (the
# shapes PDFs of those scripts often hold instead of letters, U+FB1D-U+FDFF, U+FE70-U+FEFC),
# and full-width and half-width forms (U+FF01-U+FFEE: "ＰＤＦ" in Japanese text, half-width
# katakana). They get their NFKC form. The rest of NFKC is left out on purpose, because the
# reader would see the text change: "m²" would become "m2", "™" "TM", "½" "1⁄2", "①" "1",
# "…" "...".
_COMPATIBILITY_FORMS = re.compile(r"[\ufb00-\ufb17\ufb1d-\ufdff\ufe70-\ufefc\uff01-\uffee]+")


def normalise(text: str) -> str:
    """``text`` with compatibility letters replaced by the letters they stand for (see
    ``_COMPATIBILITY_FORMS``) and then in NFC (an accent typed as a separate mark joined to its
    letter: the same text to the eye, one spelling for search)."""
    text = _COMPATIBILITY_FORMS.sub(lambda match: unicodedata.normalize("NFKC", match[0]), text)
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """Text safe to store and show, and searchable with the words a reader sees: no control
    characters, no lone surrogates, ligatures and other compatibility letters as plain letters
    (``normalise``), Unix newlines, at most one blank line in a row, no surrounding whitespace."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = normalise(_LONE_SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text)))
    return _BLANK_LINES.sub("\n\n", _SPACES_BEFORE_NEWLINE.sub("\n", text)).strip()


def join(chunks) -> str:
    """Clean chunks joined by blank lines, empty ones left out."""
    cleaned = (clean(chunk) for chunk in chunks)
    return "\n\n".join(chunk for chunk in cleaned if chunk)


def with_article(label: str) -> str:
    """``"Word"`` -> ``"a Word"``, ``"Excel"`` -> ``"an Excel"``, ``"RTF"`` -> ``"an RTF"``:
    "an" before a vowel sound (an initialism is read letter by letter)."""
    first = label[:1]
    spoken_as_vowel = bool(first) and (
        first in "AEIOU" or (label.isupper() and first in "AEFHILMNORSX")
    )
    return f"{'an' if spoken_as_vowel else 'a'} {label}"


def incomplete_note(unit: str) -> str:
    """The note for a file that was cut off and read as far as it goes; ``unit`` is what it
    is made of ("parts", "pages")."""
    return (
        "The file is incomplete (it was cut off, perhaps while copying or uploading); "
        f"the text of the {unit} that could be read is shown."
    )


def chars_note(limits: Limits) -> str:
    return f"Only the first {limits.max_chars:,} characters were kept for search."


def pages_note(kept: int, total: int, unit: str) -> str:
    return f"Only the first {kept} of {total} {unit} were read for search."


def numbers_phrase(numbers: list[int]) -> str:
    """``[3, 7, 303]`` -> ``"3, 7 and 303"``."""
    words = [str(number) for number in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class Budget:
    """The characters and seconds left for one file; format modules stop reading when it runs
    out, so a long file gives its first pages instead of nothing."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.chars_left = limits.max_chars
        self.deadline = time.monotonic() + limits.seconds

    def take(self, text: str) -> str:
        """``text`` cut to what is left of the character budget."""
        kept = text[: max(self.chars_left, 0)]
        self.chars_left -= len(text)
        return kept

    @property
    def full(self) -> bool:
        return self.chars_left <= 0

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()


def paged_extraction(pages: list[Page], *, limits: Limits, **fields) -> Extraction:
    """An Extraction whose ``text`` is its pages' text joined in order, cut at
    ``limits.max_chars`` with a note saying so."""
    for page in pages:
        page.text = clean(page.text)
    extraction = Extraction(pages=pages, **fields)
    text = join(page.text for page in pages)
    if len(text) > limits.max_chars:
        extraction.notes.append(chars_note(limits))
        text = text[: limits.max_chars]
    extraction.text = text
    return extraction


def text_extraction(chunks, *, limits: Limits, **fields) -> Extraction:
    """An Extraction of ``chunks`` joined, cut at ``limits.max_chars`` with a note."""
    extraction = Extraction(**fields)
    text = join(chunks)
    if len(text) > limits.max_chars:
        extraction.notes.append(chars_note(limits))
        text = text[: limits.max_chars]
    extraction.text = text
    return extraction


class Parser:
    """Defaults for a format module's parser; ``cms.extraction.registry`` states the
    contract."""

    name = ""
    label = ""
    extensions: tuple[str, ...] = ()

    @classmethod
    def unavailable(cls, limits: Limits) -> str | None:
        return None

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        return None

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        raise NotImplementedError
