"""Pictures (.png, .jpg): no text to search; the picture, scaled down, is the thumbnail."""

from __future__ import annotations

from pathlib import Path

from cms.extraction.base import Extraction, ExtractionError, Limits, Parser
from cms.extraction.thumbnails import image_thumbnail


class ImageParser(Parser):
    name = "image"
    label = "image"
    extensions = ("png", "jpg", "jpeg")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        if filename.lower().endswith(".png") and not head.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ExtractionError(f"“{filename}” is not a PNG image.")
        if filename.lower().endswith((".jpg", ".jpeg")) and not head.startswith(b"\xff\xd8\xff"):
            raise ExtractionError(f"“{filename}” is not a JPEG image.")

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        with open(path, "rb") as handle:
            thumbnail = image_thumbnail(
                handle, width=limits.thumbnail_width, max_pixels=limits.max_image_pixels
            )
        return Extraction(thumbnail=thumbnail, searchable=False)


PARSER = ImageParser
