"""A sandboxed extraction worker: ``python -m cms.extraction.worker MAX_MEMORY_MB``.

It imports the readers, caps its own address space at what that costs plus ``MAX_MEMORY_MB``,
then answers requests until its input closes: one JSON object a line on stdin, one JSON object
a line on stdout. Anything a library prints goes to stderr, never into the answers. The pool
(``cms.extraction.pool``) kills it when an answer takes too long.

Requests: ``{"op": "extract", "path", "filename", "limits"}``,
``{"op": "render", "path", "number", "width"}`` and ``{"op": "ping"}``. Answers:
``{"extraction": {...}}``, ``{"png": base64}`` or ``{"pid": N}``, or
``{"error": sentence, "status": "failed"|"protected"}``; an answer with ``"recycle": true``
means this worker should not be used again (it is exiting).
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import resource
import sys
import warnings
from pathlib import Path

import lxml.etree  # noqa: F401 - loaded before the cap (see below)
import olefile  # noqa: F401
import PIL.Image  # noqa: F401
import pypdf  # noqa: F401
import pypdfium2  # noqa: F401

# Every reader (and the libraries they use: lxml, olefile, Pillow, pypdf, pypdfium2) is loaded
# when the worker starts, before ``limit_memory`` caps the address space, so that the cap
# measures what a file costs rather than what importing them does.
from cms.extraction.base import MB, Extraction, ExtractionError, Limits
from cms.extraction.pdf import render_pdf_page
from cms.extraction.registry import extract


def limit_memory(max_memory_mb: int) -> None:
    """Cap the address space at what the loaded interpreter and libraries already use plus
    ``max_memory_mb``, so the budget is for the file, not for importing pdfium."""
    try:
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        in_use = 0
    limit = in_use + max_memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def extraction_to_dict(extraction: Extraction) -> dict:
    return {
        "text": extraction.text,
        "pages": [[page.number, page.text] for page in extraction.pages],
        "page_count": extraction.page_count,
        "thumbnail": base64.b64encode(extraction.thumbnail).decode()
        if extraction.thumbnail
        else None,
        "notes": extraction.notes,
        "searchable": extraction.searchable,
    }


def handle(request: dict, *, max_memory_mb: int) -> dict:
    """One request's answer; never raises."""
    try:
        if request["op"] == "ping":
            return {"pid": os.getpid()}
        if request["op"] == "render":
            image = render_pdf_page(
                Path(request["path"]), number=request["number"], width=request["width"]
            )
            return {"png": base64.b64encode(image).decode()}
        limits = Limits(**request["limits"])
        extraction = extract(Path(request["path"]), filename=request["filename"], limits=limits)
        return {"extraction": extraction_to_dict(extraction)}
    except ExtractionError as error:
        return {"error": str(error), "status": error.status}
    except Exception as error:  # noqa: BLE001 - any other failure means the file is unreadable
        if _out_of_memory(error):
            message = f"The file needs more than {max_memory_mb} MB of memory to process."
        else:
            message = "The file is damaged and could not be read."
        return {"error": message, "status": "failed", "recycle": True}


def _out_of_memory(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is the memory cap being hit."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, MemoryError):
            return True
        if isinstance(error, OSError) and error.errno == errno.ENOMEM:
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def main(argv: list[str]) -> int:
    max_memory_mb = int(argv[0])
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C libraries' output too
    sys.stdout = sys.stderr
    logging.disable(logging.CRITICAL)  # pypdf logs every oddity of a file; errors say enough
    warnings.simplefilter("ignore")
    limit_memory(max_memory_mb)
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
        except ValueError:
            return 2
        answer = handle(request, max_memory_mb=max_memory_mb)
        # ASCII JSON: a lone surrogate that slipped through becomes an escape, not a crash.
        answers.write(json.dumps(answer, ensure_ascii=True).encode("ascii") + b"\n")
        answers.flush()
        if answer.get("recycle"):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
