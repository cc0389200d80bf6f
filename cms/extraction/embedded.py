"""Files embedded in Office files: a workbook in a deck, a document in a workbook, a PDF shown
as an icon on a slide. Read within the outer file's unpacking budget and at most
``Limits.max_nesting`` levels deep; one that cannot be read adds nothing (and a zip bomb inside
still refuses the whole file).

Office stores an embedded object either as a package of its own (``embeddings/*.xlsx``) or in
an OLE container (``embeddings/oleObject1.bin``) whose ``Package`` stream holds the Office file,
``CONTENTS`` stream holds a PDF, or ``\\x01Ole10Native`` stream holds any packaged file.
"""

from __future__ import annotations

import io
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import olefile

import cms.extraction.ooxml as ooxml
from cms.extraction.base import MB, ExtractionError

EMBEDDED_SUFFIXES = (*ooxml.NESTED_SUFFIXES, ".bin", ".pdf")
MAX_EMBEDDED_PDF_BYTES = 20 * MB

# How an embedded file of each kind is read: an Office package ("docx", "pptx", "xlsx") into
# lines of text, a PDF ("pdf") from a path. The format modules register their own readers
# (``embedded_reader``), since they read embedded files through this module in turn.
READERS: dict[str, Callable] = {}


def embedded_reader(kind: str):
    """Register the decorated function as the reader of embedded ``kind`` files: for an
    Office kind ``(package, *, depth) -> list[str]``, for "pdf" ``(path, *, limits) -> str``."""

    def register(reader: Callable) -> Callable:
        READERS[kind] = reader
        return reader

    return register


def embedded_text(package: ooxml.Package, target: str, *, depth: int) -> str:
    """Text of the file embedded at part ``target`` of ``package``; "" when there is none."""
    if depth > package.limits.max_nesting:
        return ""
    data = package.read_optional(target)
    return _text_of(data, package, depth=depth) if data else ""


def _text_of(data: bytes, package: ooxml.Package, *, depth: int) -> str:
    if data.startswith(ooxml.ZIP_MAGIC):
        return _office_text(data, package, depth=depth)
    if data.startswith(ooxml.OLE_MAGIC):
        payload = _ole_payload(data)
        if payload and not payload.startswith(ooxml.OLE_MAGIC):
            return _text_of(payload, package, depth=depth)
        return ""
    if b"%PDF-" in data[:1024] and len(data) <= MAX_EMBEDDED_PDF_BYTES:
        return _pdf_text(data, package)
    return ""


def _office_text(data: bytes, package: ooxml.Package, *, depth: int) -> str:
    try:
        inner = ooxml.Package(io.BytesIO(data), limits=package.limits, unpacked=package.unpacked)
        kind = inner.kind()
    except ExtractionError as error:
        if "zip bomb" in str(error):
            raise
        return ""
    reader = READERS.get(kind) if kind != "pdf" else None
    return "\n".join(reader(inner, depth=depth)) if reader else ""


def _pdf_text(data: bytes, package: ooxml.Package) -> str:
    reader = READERS.get("pdf")
    if reader is None:
        return ""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        try:
            return reader(Path(handle.name), limits=package.limits)
        except ExtractionError:
            return ""


def _ole_payload(data: bytes) -> bytes | None:
    """The file an OLE container wraps, or None."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for stream in ("Package", "CONTENTS"):
                if ole.exists(stream):
                    return ole.openstream(stream).read()
            if ole.exists("\x01Ole10Native"):
                return _ole10_native(ole.openstream("\x01Ole10Native").read())
    except (OSError, ValueError, IndexError, struct.error):
        return None
    return None


def _ole10_native(data: bytes) -> bytes | None:
    """The file inside an ``\\x01Ole10Native`` stream: size, flags, label, original path,
    reserved, temporary path, then the file's size and bytes."""
    try:
        position = 6
        for _ in range(2):  # label, original path
            position = data.index(b"\0", position) + 1
        position += 4
        (length,) = struct.unpack_from("<I", data, position)
        position += 4 + length
        (size,) = struct.unpack_from("<I", data, position)
        position += 4
    except (ValueError, struct.error):
        return None
    payload = data[position : position + size]
    return payload if len(payload) == size else None
