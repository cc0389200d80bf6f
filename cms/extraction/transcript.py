"""Video transcripts and captions (.vtt WebVTT, .srt SubRip): what is said, without cue
numbers, timings, styling or markup. Attached to a video asset, they make the video findable
by its words."""

from __future__ import annotations

import html
import re
from pathlib import Path

from cms.extraction.base import Extraction, ExtractionError, Limits, Parser, text_extraction
from cms.extraction.text import check_text_signature, read_text
from cms.extraction.thumbnails import title_card

_TIMING = re.compile(r"\d{1,2}:\d{2}[:.,]\d{2}.*-->")
_MARKUP = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")  # <v Ann>, <i>, <00:01.000>, {\an8}
_NON_CUE_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")


def cue_lines(text: str) -> list[str]:
    """The spoken lines of a WebVTT or SubRip file, in order, with a line repeated by rolling
    captions kept once."""
    lines: list[str] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        rows = block.strip("\ufeff").strip().split("\n")
        if not rows or rows[0].startswith(_NON_CUE_BLOCKS):
            continue
        timing = next((i for i, row in enumerate(rows) if _TIMING.match(row.strip())), None)
        if timing is None:
            continue
        for row in rows[timing + 1 :]:
            spoken = " ".join(html.unescape(_MARKUP.sub("", row)).split())
            if spoken and (not lines or lines[-1] != spoken):
                lines.append(spoken)
    return lines


class TranscriptParser(Parser):
    name = "transcript"
    label = "transcript"
    extensions = ("vtt", "srt")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        check_text_signature(filename, head)
        start = head.lstrip(b"\xef\xbb\xbf").lstrip()
        if filename.lower().endswith(".vtt") and not start.startswith(b"WEBVTT"):
            raise ExtractionError(
                f"“{filename}” is not a WebVTT file: it does not start with WEBVTT."
            )
        if filename.lower().endswith(".srt") and b"-->" not in head:
            raise ExtractionError(
                f"“{filename}” is not a SubRip (.srt) file: it has no cue timings."
            )

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        lines = cue_lines(read_text(path, limits))
        extraction = text_extraction(["\n".join(lines)], limits=limits)
        title = Path(filename).stem.replace("_", " ").replace("-", " ")
        extraction.thumbnail = title_card(
            title, label="TRANSCRIPT", width=limits.thumbnail_width, portrait=True
        )
        return extraction


PARSER = TranscriptParser
