"""Text recognition (OCR) with Tesseract for PDF pages that have no text layer.

Tesseract is a separate program (Debian's ``tesseract-ocr`` and a language package such as
``tesseract-ocr-eng``); without it scanned pages are reported, not read. Pages are drawn at
300 dpi (capped at ``MAX_PIXELS``), one Tesseract process per page with one thread, each with
the time left for the file, and at most ``Limits.ocr_pages`` pages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cms.extraction.base import Budget, Limits, numbers_phrase

DPI = 300
MAX_PIXELS = 12_000_000
MIN_SECONDS = 2.0  # do not start a page with less time left than this


def tesseract() -> str | None:
    return shutil.which("tesseract")


def available(limits: Limits) -> bool:
    return limits.ocr_pages > 0 and tesseract() is not None


def recognise_image(image_path: Path, *, languages: str, seconds: float) -> str:
    """Tesseract's text for one image; "" when it fails or runs out of time."""
    command = [tesseract() or "tesseract", str(image_path), "stdout", "-l", languages, "quiet"]
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed program on a file we wrote
            command, capture_output=True, timeout=seconds, env=environment, check=False
        )
    except (subprocess.TimeoutExpired, OSError):
        return ""
    if completed.returncode != 0:
        return ""
    return completed.stdout.decode("utf-8", "replace")


def _page_image(document, index: int):
    page = document[index]
    try:
        width, height = page.get_size()
        scale = DPI / 72
        pixels = width * scale * height * scale
        if pixels > MAX_PIXELS:
            scale *= (MAX_PIXELS / pixels) ** 0.5
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def recognise_pages(
    document, numbers: list[int], *, limits: Limits, budget: Budget
) -> tuple[dict[int, str], list[int], list[int]]:
    """OCR the pages ``numbers`` (from 1) of a pdfium document: the text of each page read,
    the pages left unread (over the page limit or out of time), and the pages read in which
    Tesseract found no text."""
    done: dict[int, str] = {}
    empty: list[int] = []
    with tempfile.TemporaryDirectory(prefix="ocr-") as folder:
        for position, number in enumerate(numbers):
            seconds = budget.seconds_left()
            if position >= limits.ocr_pages or seconds < MIN_SECONDS:
                return done, numbers[position:], empty
            try:
                image = _page_image(document, number - 1)
            except MemoryError:
                raise
            except Exception:  # noqa: BLE001, S112 - a page pdfium cannot draw is left unread
                continue
            image_path = Path(folder) / f"page-{number}.png"
            image.save(image_path)
            text = recognise_image(image_path, languages=limits.ocr_languages, seconds=seconds)
            image_path.unlink()
            if text.strip():
                done[number] = text
            else:
                empty.append(number)
    return done, [], empty


def _pages(numbers: list[int], one: str, many: str) -> str:
    """``"Page 3 has"`` or ``"Pages 3 and 5 have"``: the pages and the verb that agrees."""
    if len(numbers) == 1:
        return f"Page {numbers[0]} {one}"
    return f"Pages {numbers_phrase(numbers)} {many}"


def unavailable_note(scanned: list[int], page_count: int) -> str:
    if len(scanned) == page_count:
        return (
            "No text layer: this PDF looks scanned, so its words cannot be searched. Text "
            "recognition (OCR) is not available on this server; upload a PDF with text (most "
            "scanners can make one) or ask an administrator to install Tesseract."
        )
    return (
        f"{_pages(scanned, 'has', 'have')} no text layer (scanned), so "
        f"{'its' if len(scanned) == 1 else 'their'} words cannot be searched; text recognition "
        "(OCR) is not available on this server."
    )


def done_notes(done: list[int], skipped: list[int], empty: list[int]) -> list[str]:
    notes = []
    if done:
        notes.append(
            f"{_pages(sorted(done), 'had', 'had')} no text layer (scanned); the text shown was "
            "read by text recognition (OCR) and may contain mistakes."
        )
    if skipped:
        notes.append(
            f"{_pages(skipped, 'looks', 'look')} scanned but could not be read by text "
            "recognition within the page or time limit."
        )
    if empty:
        pronoun = "it" if len(empty) == 1 else "them"
        notes.append(
            f"{_pages(empty, 'looks', 'look')} scanned, but text recognition (OCR) found no "
            f"text on {pronoun}; if the scan shows words, upload a sharper scan or a PDF with "
            "text."
        )
    return notes
