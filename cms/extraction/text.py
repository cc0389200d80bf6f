"""Plain text files (.txt, .md, .csv): decoded as UTF-8, UTF-16 with a byte-order mark, or
else Windows-1252."""

from __future__ import annotations

import codecs
from pathlib import Path

from cms.extraction.base import Extraction, ExtractionError, Limits, Parser, chars_note, clean
from cms.extraction.thumbnails import title_card


def has_utf16_bom(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def decode_text(data: bytes) -> str:
    if has_utf16_bom(data):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        raise ExtractionError("The file contains binary data, not text.")
    try:
        # Incremental so a character cut at the read limit does not spoil the whole file.
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_text(path: Path, limits: Limits) -> str:
    with open(path, "rb") as handle:
        return decode_text(handle.read(limits.max_chars * 4))


def check_text_signature(filename: str, head: bytes) -> None:
    if b"\x00" in head and not has_utf16_bom(head):
        raise ExtractionError(f"“{filename}” contains binary data, not text.")


class TextParser(Parser):
    name = "text"
    label = "text"
    extensions = ("txt", "md", "csv")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        check_text_signature(filename, head)

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        text = clean(read_text(path, limits))
        notes = []
        if len(text) > limits.max_chars:
            text = text[: limits.max_chars]
            notes.append(chars_note(limits))
        lines = (line.strip("# ") for line in text.splitlines())
        title = next((line for line in lines if line), path.stem)
        thumbnail = title_card(title, label="TEXT", width=limits.thumbnail_width, portrait=True)
        return Extraction(text=text, thumbnail=thumbnail, notes=notes)


PARSER = TextParser
