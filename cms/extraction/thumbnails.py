"""Preview images: scaled-down pictures, title cards for files without a picture of their own,
and the test that keeps blank previews (Office's white default thumbnail) out of the library."""

from __future__ import annotations

import io
import textwrap
import warnings

from cms.extraction.base import ExtractionError

BRAND_BAND = (37, 64, 143)


def png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # optimize=True saves ~5% and costs ~20 ms a thumbnail
    return buffer.getvalue()


def is_blank(image) -> bool:
    """True when an image is one flat colour (a white page, Office's empty preview): its
    greyscale values spread by less than 2 levels."""
    from PIL import ImageStat

    grey = image.convert("L")
    grey.thumbnail((128, 128))
    return ImageStat.Stat(grey).stddev[0] < 2.0


def image_thumbnail(source, *, width: int, max_pixels: int, refuse_blank: bool = False) -> bytes:
    """PNG ``width`` pixels wide (height capped at twice that) from an image file.

    Refuses images over ``max_pixels`` (saying how many pixels they have, also when Pillow's
    own decompression-bomb check stops them first) and, with ``refuse_blank``, images of one
    flat colour.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.width * image.height > max_pixels:
                    raise _too_many_pixels(image.size, max_pixels)
                image.draft("RGB", (width, width * 4))
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                if refuse_blank and is_blank(image):
                    raise ExtractionError("The preview image is blank.")
                height = max(1, round(image.height * width / max(image.width, 1)))
                return png(image.resize((width, min(height, width * 2)), Image.LANCZOS))
    except ExtractionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        size = _declared_size(source)
        if size is None:
            raise ExtractionError("The image is too large to process.") from error
        raise _too_many_pixels(size, max_pixels) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ExtractionError("The image is damaged or not in a format we can read.") from error


def _too_many_pixels(size: tuple[int, int], max_pixels: int) -> ExtractionError:
    return ExtractionError(
        f"The image is {size[0]}×{size[1]} pixels, more than the {max_pixels:,} pixels "
        "allowed; export a smaller image and upload it again."
    )


def _declared_size(source) -> tuple[int, int] | None:
    """The width and height an image file's header declares, read without Pillow's
    decompression-bomb check (nothing is decoded), or None when it cannot be read."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only for this header read; the sandbox runs one file at a time
    try:
        source.seek(0)
        with Image.open(source) as image:
            return image.size
    except Exception:  # noqa: BLE001 - the caller then says the image is too large
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def embedded_preview(data: bytes | None, *, width: int) -> bytes | None:
    """The preview image an Office package stores (``docProps/thumbnail.*``) as a PNG, or None
    when it is missing, unreadable or blank."""
    if not data:
        return None
    try:
        return image_thumbnail(
            io.BytesIO(data), width=width, max_pixels=25_000_000, refuse_blank=True
        )
    except ExtractionError:
        return None


def title_card(
    title: str,
    *,
    label: str,
    width: int = 400,
    portrait: bool = False,
    band: tuple[int, int, int] = BRAND_BAND,
    subtitle: str = "",
) -> bytes:
    """A PNG card with a coloured band, a label and the title, for files without a preview."""
    from PIL import Image, ImageDraw, ImageFont

    height = round(width * 1.3) if portrait else round(width * 9 / 16)
    image = Image.new("RGB", (width, height), (244, 246, 250))
    draw = ImageDraw.Draw(image)
    bar = round(height * 0.12)
    label_size = max(10, width // 30)
    draw.rectangle((0, 0, width, bar), fill=band)
    draw.text(
        (16, (bar - label_size) // 2),
        label,
        fill="white",
        font=ImageFont.load_default(size=label_size),
    )
    font = ImageFont.load_default(size=max(12, width // 16))
    lines = textwrap.wrap(" ".join(title.split())[:200], width=22)[:5] or ["Untitled"]
    top = round(height * 0.2)
    for line in lines:
        draw.text((16, top), line, fill=(20, 24, 33), font=font)
        top += round(font.size * 1.3)
    if subtitle:
        small = ImageFont.load_default(size=max(10, width // 28))
        for line in textwrap.wrap(" ".join(subtitle.split())[:160], width=40)[:3]:
            draw.text((16, top + 8), line, fill=(70, 78, 95), font=small)
            top += round(small.size * 1.3)
    return png(image)
