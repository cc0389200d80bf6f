"""Which module reads which file: one parser per format, found by file extension.

Like paperless-ngx's parser registry, a parser is a class that declares what it handles and
can say when it cannot run here (Tika without ``TIKA_URL``); unlike it, the extension decides
(the upload form has already checked that the content matches it), so there is no scoring.

A parser (a subclass of ``base.Parser``; each format module's ``PARSER``) provides, as class
attributes and class methods:

- ``name`` (for logs and the benchmark), ``label`` (the format in messages: "PDF", "Word"),
  ``extensions`` (lower case, no dot);
- ``unavailable(limits) -> str | None``: why it cannot read files on this server, or None;
- ``check_signature(filename, head, fileobj)``: raise ``ExtractionError`` when the first
  bytes (``head``, 8 KB) contradict the extension; ``fileobj`` is seekable, left anywhere;
- ``extract(path, *, filename, limits) -> Extraction``: raise ``ExtractionError`` with a
  sentence for the uploader on bad input, never anything else on purpose.
"""

from __future__ import annotations

from pathlib import Path

import cms.extraction.docx as docx
import cms.extraction.image as image
import cms.extraction.pdf as pdf
import cms.extraction.pptx as pptx
import cms.extraction.text as text
import cms.extraction.tika as tika
import cms.extraction.transcript as transcript
import cms.extraction.xlsx as xlsx
from cms.extraction.base import Extraction, ExtractionError, Limits, Parser, extension_of

_by_extension: dict[str, type[Parser]] = {}


def register(parser: type[Parser]) -> type[Parser]:
    """Add a parser (usable as a class decorator). An extension has one parser."""
    for extension in parser.extensions:
        existing = _by_extension.get(extension)
        if existing is not None and existing is not parser:
            raise ValueError(f".{extension} is already read by {existing.name}")
        _by_extension[extension] = parser
    return parser


for _module in (pdf, docx, pptx, xlsx, text, transcript, image, tika):
    register(_module.PARSER)


def parser_for(filename: str) -> type[Parser] | None:
    """The parser for ``filename``'s extension, or None when the library only stores it."""
    return _by_extension.get(extension_of(filename))


def extensions() -> list[str]:
    return sorted(_by_extension)


def unsupported_reason(filename: str, limits: Limits) -> str | None:
    """Why the text of ``filename`` will not be read on this server, or None when it will."""
    parser = parser_for(filename)
    if parser is None:
        return (
            f"Text is not extracted from .{extension_of(filename)} files; the file is stored "
            "and can be downloaded, but its contents are not searchable."
        )
    return parser.unavailable(limits)


def check_signature(filename: str, fileobj) -> None:
    """Refuse a file whose first bytes contradict its extension (a renamed file).

    ``fileobj`` must be seekable; it is left at position 0.
    """
    parser = parser_for(filename)
    if parser is None:
        return
    fileobj.seek(0)
    head = fileobj.read(8192)
    try:
        parser.check_signature(filename, head, fileobj)
    finally:
        fileobj.seek(0)


def extract(path: Path, *, filename: str, limits: Limits) -> Extraction:
    """Read one file in this process. Raises ExtractionError; see the module contract."""
    parser = parser_for(filename)
    if parser is None:
        raise ExtractionError(unsupported_reason(filename, limits))
    reason = parser.unavailable(limits)
    if reason:
        raise ExtractionError(reason)
    return parser.extract(Path(path), filename=filename, limits=limits)
