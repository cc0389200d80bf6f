"""The size bound on Wagtail images (an asset's "Thumbnail image", pictures in rich text).

Their renditions are drawn in the web process, not in the extraction sandbox, and drawing one
holds the whole decoded picture, twice over (Willow loads it, then crops a copy; a 1-bit or
palette image is also converted to RGB(A) first): about 8 bytes a pixel at worst. An outside
audit's 32 KB PNG of 11000×11000 pixels, under Wagtail's default limit of 128 million, cost
~0.6 GB a thumbnail. ``WAGTAILIMAGES_MAX_IMAGE_PIXELS`` (``IMAGE_MAX_PIXELS``, by default the
50 million pixels the extraction allows a document's picture) bounds that at ~0.4 GB:

- an upload over it is refused, saying its size and the limit (``image_upload_problem``),
  after reading only the file's header: Wagtail's own check decodes the whole picture first,
  and for one over twice Pillow's limit only says "unknown number" of pixels;
- an image stored before the limit was lowered is not drawn (``image_too_large``): the asset
  shows its file's thumbnail or the placeholder instead.
"""

from __future__ import annotations

import math
import struct

from django.conf import settings


def image_pixel_limit() -> int:
    """The most pixels (width × height) an image may have to be uploaded or drawn."""
    return settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS


def image_too_large(image) -> bool:
    """True when a stored Wagtail ``image`` (its width and height as recorded at upload) has
    more pixels than may be drawn now."""
    return (image.width or 0) * (image.height or 0) > image_pixel_limit()


def image_header_size(file) -> tuple[int, int] | None:
    """(width, height) read from the header of an image ``file`` (open, seekable), without
    decoding its pixels; None when no Pillow format reads it. The file is left at its start.

    Pillow's ``Image.open`` refuses an image over twice its ``MAX_IMAGE_PIXELS`` before
    saying how big it is (``DecompressionBombError``, which is why Wagtail says "unknown
    number"); here each registered format's own opener is asked, as ``Image.open`` does, but
    without that refusal: only the size is used, and nothing is decoded."""
    from PIL import Image

    Image.init()
    try:
        file.seek(0)
        prefix = file.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            accepted = accept(prefix) if accept is not None else True
            if not accepted or isinstance(accepted, str):  # a string: a reason it is not
                continue
            file.seek(0)
            try:
                with factory(file, "") as image:
                    return image.size
            except (SyntaxError, IndexError, TypeError, ValueError, OSError, struct.error):
                continue  # as Image.open: not this format after all
        return None
    finally:
        file.seek(0)


def image_upload_problem(name: str, width: int, height: int) -> str | None:
    """Why an image of ``width`` × ``height`` pixels named ``name`` cannot be uploaded, with
    the largest size of its shape that can; None when it can."""
    limit = image_pixel_limit()
    pixels = width * height
    if pixels <= limit:
        return None
    scale = math.sqrt(limit / pixels)
    fits_width, fits_height = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    return (
        f"“{name}” was not uploaded: it is {width:,}×{height:,} pixels ({pixels:,} pixels) "
        f"and the limit is {limit:,} pixels. Export it at {fits_width:,}×{fits_height:,} "
        "pixels or smaller and upload it again."
    )
