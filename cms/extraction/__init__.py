"""Turn an uploaded file into searchable text (whole and page by page), a page count, notes and
a PNG thumbnail, within bounds.

- One module per format (``pdf``, ``docx``, ``pptx``, ``xlsx``, ``text``, ``transcript``,
  ``image``, ``tika``), registered in ``registry`` by extension.
- Everything here is plain Python without Django, so it runs in sandboxed worker processes
  (``pool``, ``worker``): ``extract_bounded`` is what uploads use; ``extract`` runs in this
  process (tests, the worker itself).

Contracts:
- ``extract`` and the parsers return an ``Extraction`` or raise ``ExtractionError`` whose message
  is a sentence a marketer can act on and whose ``status`` is "failed" or "protected"; they
  never raise anything else for bad input on purpose (the worker turns any other exception
  into a generic "damaged file" error).
- Text is cut at ``Limits.max_chars`` characters and read from at most ``Limits.max_pages``
  pages or slides; a note says so when that happens. Text never holds control characters or
  lone surrogates.
- Zip packages are checked part by part before anything is unpacked (``ooxml``).
"""

from __future__ import annotations

import base64
from pathlib import Path

from cms.extraction import pool
from cms.extraction.base import (
    MB,
    Extraction,
    ExtractionError,
    Limits,
    Page,
    clean,
    extension_of,
)
from cms.extraction.registry import (
    check_signature,
    extensions,
    extract,
    parser_for,
    unsupported_reason,
)

__all__ = [
    "MB",
    "Extraction",
    "ExtractionError",
    "Limits",
    "Page",
    "check_signature",
    "clean",
    "extension_of",
    "extensions",
    "extract",
    "extract_bounded",
    "parser_for",
    "render_page_bounded",
    "unsupported_reason",
]


def extract_bounded(
    path: Path,
    *,
    filename: str,
    limits: Limits,
    timeout: float,
    max_memory_mb: int,
    workers: int = 2,
    max_jobs: int = 50,
) -> Extraction:
    """Run ``extract`` in a sandboxed worker killed after ``timeout`` seconds, with its memory
    capped at ``max_memory_mb`` above its start-up size. Raises ExtractionError for every
    failure, including the worker being killed."""
    worker_pool = pool.pool_for(max_memory_mb, size=workers, max_jobs=max_jobs)
    request = {
        "op": "extract",
        "path": str(path),
        "filename": filename,
        "limits": limits.__dict__,
    }
    answer = worker_pool.run(request, timeout=timeout, max_memory_mb=max_memory_mb)
    if "error" in answer:
        raise ExtractionError(answer["error"], status=answer.get("status", "failed"))
    return _extraction_from(answer["extraction"])


def render_page_bounded(
    path: Path, *, number: int, width: int, timeout: float, max_memory_mb: int, workers: int = 2
) -> bytes:
    """PNG of page ``number`` (from 1) of a PDF, ``width`` pixels wide, drawn in the sandbox.
    Raises ExtractionError when the page does not exist or cannot be drawn."""
    worker_pool = pool.pool_for(max_memory_mb, size=workers, max_jobs=50)
    request = {"op": "render", "path": str(path), "number": number, "width": width}
    answer = worker_pool.run(request, timeout=timeout, max_memory_mb=max_memory_mb)
    if "error" in answer:
        raise ExtractionError(answer["error"], status=answer.get("status", "failed"))
    return base64.b64decode(answer["png"])


def _extraction_from(data: dict) -> Extraction:
    thumbnail = data.get("thumbnail")
    return Extraction(
        text=clean(data["text"]),
        pages=[Page(number, clean(text)) for number, text in data["pages"]],
        page_count=data["page_count"],
        thumbnail=base64.b64decode(thumbnail) if thumbnail else None,
        notes=data["notes"],
        searchable=data["searchable"],
    )
