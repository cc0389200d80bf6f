"""Turn an uploaded file into searchable text, a page count and a PNG thumbnail, within bounds.

Everything here is plain Python without Django, so it can run in a child process:
``extract_bounded`` starts ``python -m cms.extraction`` for one file, kills it when it runs past
the time limit, and the child caps its own address space. A hostile or broken file can therefore
fail its own processing but can neither hang nor exhaust the process that asked for it.

Contracts:
- ``extract`` and the per-type functions return an ``Extraction`` or raise ``ExtractionError``
  whose message is a sentence a marketer can act on; they never raise anything else for bad
  input (the child turns unexpected exceptions into a generic "damaged file" error).
- Text is cut at ``Limits.max_chars`` characters and read from at most ``Limits.max_pages``
  pages or slides; a note says so when that happens.
- OOXML packages (PPTX, DOCX, XLSX) are measured from their zip directory, nested packages
  included, before any of their members is decompressed (``check_zip_package``).
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import re
import subprocess
import sys
import tempfile
import textwrap
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MB = 1024 * 1024

# File extension -> how it is processed. Anything else is stored without extraction.
KINDS = {
    "pdf": "pdf",
    "pptx": "pptx",
    "docx": "docx",
    "txt": "text",
    "md": "text",
    "csv": "text",
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
}
OOXML_MAIN_PART = {
    "pptx": "ppt/presentation.xml",
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
}
NESTED_ARCHIVE_SUFFIXES = (".zip", ".docx", ".pptx", ".xlsx", ".docm", ".pptm", ".xlsm")
MAX_NESTING = 2  # a deck may embed a workbook; a workbook inside that is as deep as we look


class ExtractionError(Exception):
    """A file could not be processed; ``str(error)`` is a sentence for whoever uploaded it."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost. Sizes are bytes."""

    max_pages: int = 500
    max_chars: int = 2_000_000
    max_unzipped_bytes: int = 256 * MB
    max_zip_ratio: int = 200
    max_zip_members: int = 5_000
    max_image_pixels: int = 50_000_000
    thumbnail_width: int = 400


@dataclass
class Extraction:
    """What a file yielded. ``searchable`` is False for types that carry no text (images)."""

    text: str = ""
    page_count: int | None = None
    thumbnail: bytes | None = None
    notes: list[str] = field(default_factory=list)
    searchable: bool = True


def extension_of(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower().lstrip(".")


def kind_for(filename: str) -> str | None:
    """How a file is processed, decided by its extension; None when it is only stored."""
    return KINDS.get(extension_of(filename))


# --- Signatures ------------------------------------------------------------------------------


def check_signature(filename: str, fileobj) -> None:
    """Refuse a file whose first bytes contradict its extension (a renamed file).

    ``fileobj`` must be seekable; it is left at position 0.
    """
    extension = extension_of(filename)
    fileobj.seek(0)
    head = fileobj.read(8192)
    fileobj.seek(0)
    if extension == "pdf" and b"%PDF-" not in head[:1024]:
        raise ExtractionError(f"“{filename}” is not a PDF: it does not start like one.")
    if extension in OOXML_MAIN_PART:
        _check_ooxml_signature(filename, extension, head, fileobj)
    if extension == "png" and not head.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ExtractionError(f"“{filename}” is not a PNG image.")
    if extension in ("jpg", "jpeg") and not head.startswith(b"\xff\xd8\xff"):
        raise ExtractionError(f"“{filename}” is not a JPEG image.")
    if KINDS.get(extension) == "text" and b"\x00" in head and not _has_utf16_bom(head):
        raise ExtractionError(f"“{filename}” contains binary data, not text.")


def _check_ooxml_signature(filename: str, extension: str, head: bytes, fileobj) -> None:
    label = extension.upper()
    if not head.startswith(b"PK\x03\x04"):
        raise ExtractionError(f"“{filename}” is not a {label} file: it is not an Office package.")
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ExtractionError(f"“{filename}” is a damaged {label} file.") from error
    finally:
        fileobj.seek(0)
    if "[Content_Types].xml" not in names or OOXML_MAIN_PART[extension] not in names:
        raise ExtractionError(f"“{filename}” is not a {label} file: its contents do not match.")


def _has_utf16_bom(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


# --- Zip packages ----------------------------------------------------------------------------


def check_zip_package(source, *, limits: Limits) -> None:
    """Refuse an OOXML package that would expand beyond the limits, before decompressing it.

    Reads only zip directories, except that a nested package (for example a workbook embedded
    in a deck) is decompressed to read its own directory; its size has already been counted
    against ``limits.max_unzipped_bytes``, and the sizes a zip declares cap what Python's
    zipfile will ever decompress for a member.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            _check_archive(archive, limits=limits, budget=[0], depth=0)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        raise ExtractionError(
            "The file is damaged: it is not a readable Office package (zip)."
        ) from error


def _check_archive(archive: zipfile.ZipFile, *, limits: Limits, budget: list[int], depth: int):
    members = archive.infolist()
    if len(members) > limits.max_zip_members:
        raise ExtractionError(
            f"The file holds {len(members)} parts, more than the {limits.max_zip_members} allowed."
        )
    for member in members:
        budget[0] += member.file_size
        if budget[0] > limits.max_unzipped_bytes:
            raise ExtractionError(
                f"The file would expand to more than {limits.max_unzipped_bytes // MB} MB when "
                "unpacked, so it was not opened (it looks like a zip bomb)."
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MB and ratio > limits.max_zip_ratio:
            raise ExtractionError(
                f"Part “{member.filename}” is compressed {ratio:,.0f} to 1, beyond the "
                f"{limits.max_zip_ratio} to 1 allowed, so the file was not opened "
                "(it looks like a zip bomb)."
            )
    for member in members:
        if member.filename.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
            _check_nested(archive, member, limits=limits, budget=budget, depth=depth + 1)


def _check_nested(archive, member, *, limits: Limits, budget: list[int], depth: int) -> None:
    if depth > MAX_NESTING:
        raise ExtractionError(
            f"Part “{member.filename}” nests packages more than {MAX_NESTING} deep, "
            "so the file was not opened."
        )
    with archive.open(member) as handle:
        data = handle.read()
    if not data.startswith(b"PK\x03\x04"):
        return
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        _check_archive(inner, limits=limits, budget=budget, depth=depth)


# --- PDF -------------------------------------------------------------------------------------


def extract_pdf(path: Path, *, limits: Limits) -> Extraction:
    """Text of the first ``max_pages`` pages, the page count and a render of page one."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(str(path))
        _unlock_pdf(reader)
        page_count = len(reader.pages)
        chunks, notes = _pdf_text(reader, page_count=page_count, limits=limits)
    except ExtractionError:
        raise
    except FileNotDecryptedError as error:
        raise _password_error() from error
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as error:
        raise ExtractionError(
            "The PDF is damaged or incomplete and could not be read; "
            "export it again from the original and upload the new file."
        ) from error
    extraction = Extraction(text=_join(chunks, limits), page_count=page_count, notes=notes)
    try:
        extraction.thumbnail = pdf_thumbnail(path, width=limits.thumbnail_width)
    except ExtractionError as error:
        extraction.notes.append(str(error))
    return extraction


def _password_error() -> ExtractionError:
    return ExtractionError(
        "The PDF is protected by a password, so its text cannot be read. "
        "Upload a copy without a password to make it searchable."
    )


def _unlock_pdf(reader) -> None:
    """Open a PDF encrypted with an empty user password (owner-only restrictions); refuse
    any other encrypted PDF."""
    from pypdf.errors import DependencyError

    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("")
    except DependencyError as error:
        raise ExtractionError(
            "The PDF uses encryption this server cannot read (the cryptography package is "
            "missing); ask an administrator."
        ) from error
    if not unlocked:
        raise _password_error()


def _pdf_text(reader, *, page_count: int, limits: Limits) -> tuple[list[str], list[str]]:
    chunks: list[str] = []
    notes: list[str] = []
    total = 0
    for number in range(min(page_count, limits.max_pages)):
        text = reader.pages[number].extract_text() or ""
        chunks.append(text)
        total += len(text)
        if total >= limits.max_chars:
            notes.append(_chars_note(limits))
            return chunks, notes
    if page_count > limits.max_pages:
        notes.append(_pages_note(limits.max_pages, page_count, "pages"))
    return chunks, notes


def pdf_thumbnail(path: Path, *, width: int) -> bytes:
    """PNG of the first page, ``width`` pixels wide (height capped at twice the width)."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise ExtractionError("The first page could not be drawn as a thumbnail.") from error
    try:
        if len(document) == 0:
            raise ExtractionError("The PDF has no pages to draw a thumbnail from.")
        page = document[0]
        page_width, page_height = page.get_size()
        scale = width / max(page_width, 1)
        scale = min(scale, (2 * width) / max(page_height, 1))
        image = page.render(scale=scale).to_pil()
        page.close()
    finally:
        document.close()
    return _png(image)


# --- Office ----------------------------------------------------------------------------------


def extract_pptx(path: Path, *, limits: Limits) -> Extraction:
    """Text of slides (shapes, tables, groups, speaker notes), slide count, embedded thumbnail."""
    from pptx import Presentation

    check_zip_package(path, limits=limits)
    try:
        presentation = Presentation(str(path))
        slides = list(presentation.slides)
    except Exception as error:  # python-pptx raises many types for malformed XML
        raise _damaged_office("PowerPoint") from error
    chunks, notes, title = [], [], ""
    for slide in slides[: limits.max_pages]:
        texts = _slide_texts(slide)
        title = title or next((text for text in texts if text.strip()), "")
        chunks.append("\n".join(texts))
        if sum(map(len, chunks)) >= limits.max_chars:
            notes.append(_chars_note(limits))
            break
    if len(slides) > limits.max_pages:
        notes.append(_pages_note(limits.max_pages, len(slides), "slides"))
    thumbnail = _embedded_thumbnail(path, width=limits.thumbnail_width)
    if thumbnail is None:
        thumbnail = title_card(title or path.stem, label="SLIDES", width=limits.thumbnail_width)
    return Extraction(_join(chunks, limits), len(slides), thumbnail, notes)


def _slide_texts(slide) -> list[str]:
    texts = [text for shape in slide.shapes for text in _shape_texts(shape)]
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        texts.append(slide.notes_slide.notes_text_frame.text)
    return texts


def _shape_texts(shape) -> list[str]:
    if getattr(shape, "shapes", None) is not None:  # a group shape
        return [text for inner in shape.shapes for text in _shape_texts(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return [cell.text for row in shape.table.rows for cell in row.cells]
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [shape.text_frame.text]
    return []


def extract_docx(path: Path, *, limits: Limits) -> Extraction:
    """Text of paragraphs and tables in document order; the page count Word last saved."""
    import docx

    check_zip_package(path, limits=limits)
    try:
        document = docx.Document(str(path))
        chunks = list(_docx_blocks(document, max_chars=limits.max_chars))
    except Exception as error:  # python-docx raises many types for malformed XML
        raise _damaged_office("Word") from error
    text = _join(chunks, limits)
    notes = [_chars_note(limits)] if len(text) >= limits.max_chars else []
    title = next((line for line in text.splitlines() if line.strip()), path.stem)
    thumbnail = title_card(title, label="DOCUMENT", width=limits.thumbnail_width, portrait=True)
    return Extraction(text, _docx_saved_pages(path), thumbnail, notes)


def _docx_blocks(document, *, max_chars: int):
    total = 0
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            # Merged cells repeat one element; holding the elements keeps their ids unique.
            seen, cells = {}, []
            for row in block.rows:
                for cell in row.cells:
                    if id(cell._tc) not in seen:
                        seen[id(cell._tc)] = cell._tc
                        cells.append(cell.text)
            text = "\n".join(cells)
        else:
            text = block.text
        yield text
        total += len(text)
        if total >= max_chars:
            return


def _docx_saved_pages(path: Path) -> int | None:
    """Word records the page count in docProps/app.xml when it saves; None when absent."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo("docProps/app.xml")
        except KeyError:
            return None
        if info.file_size > MB:
            return None
        match = re.search(rb"<(?:\w+:)?Pages>\s*(\d{1,6})\s*<", archive.read(info))
    return int(match.group(1)) if match else None


def _embedded_thumbnail(path: Path, *, width: int) -> bytes | None:
    """The preview Office stores in docProps/thumbnail.*, as a PNG; None when there is none."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().startswith("docprops/thumbnail.")]
        if not names or archive.getinfo(names[0]).file_size > 5 * MB:
            return None
        data = archive.read(names[0])
    try:
        return image_thumbnail(io.BytesIO(data), width=width, max_pixels=25_000_000)
    except ExtractionError:
        return None


def _damaged_office(application: str) -> ExtractionError:
    return ExtractionError(
        f"The {application} file is damaged and could not be read; "
        "open it in the application, save it again and upload the new file."
    )


# --- Text and images -------------------------------------------------------------------------


def extract_text_file(path: Path, *, limits: Limits) -> Extraction:
    """Decode a text file (UTF-8, UTF-16 with a byte-order mark, else Windows-1252)."""
    with open(path, "rb") as handle:
        data = handle.read(limits.max_chars * 4)
    text = decode_text(data)[: limits.max_chars]
    notes = [_chars_note(limits)] if len(text) >= limits.max_chars else []
    title = next((line.strip("# ") for line in text.splitlines() if line.strip()), path.stem)
    thumbnail = title_card(title, label="TEXT", width=limits.thumbnail_width, portrait=True)
    return Extraction(text=text, thumbnail=thumbnail, notes=notes)


def decode_text(data: bytes) -> str:
    if _has_utf16_bom(data):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        raise ExtractionError("The file contains binary data, not text.")
    try:
        # Incremental so a character cut at the read limit does not spoil the whole file.
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def extract_image(path: Path, *, limits: Limits) -> Extraction:
    """Images carry no text; the image itself, scaled down, is the thumbnail."""
    with open(path, "rb") as handle:
        thumbnail = image_thumbnail(
            handle, width=limits.thumbnail_width, max_pixels=limits.max_image_pixels
        )
    return Extraction(thumbnail=thumbnail, searchable=False)


def image_thumbnail(source, *, width: int, max_pixels: int) -> bytes:
    """PNG ``width`` pixels wide from an image file; refuses images over ``max_pixels``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.width * image.height > max_pixels:
                    raise ExtractionError(
                        f"The image is {image.width}×{image.height} pixels, more than the "
                        f"{max_pixels:,} pixels allowed."
                    )
                image.draft("RGB", (width, width * 4))
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                height = max(1, round(image.height * width / max(image.width, 1)))
                return _png(image.resize((width, min(height, width * 2)), Image.LANCZOS))
    except ExtractionError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise ExtractionError("The image is damaged or not in a format we can read.") from error
    except Image.DecompressionBombWarning as error:
        raise ExtractionError("The image is too large to process.") from error


def title_card(title: str, *, label: str, width: int = 400, portrait: bool = False) -> bytes:
    """A plain PNG card with the title, for files without a preview of their own."""
    from PIL import Image, ImageDraw, ImageFont

    height = round(width * 1.3) if portrait else round(width * 9 / 16)
    image = Image.new("RGB", (width, height), (244, 246, 250))
    draw = ImageDraw.Draw(image)
    bar = round(height * 0.12)
    label_size = max(10, width // 30)
    draw.rectangle((0, 0, width, bar), fill=(37, 64, 143))
    draw.text(
        (16, (bar - label_size) // 2),
        label,
        fill="white",
        font=ImageFont.load_default(size=label_size),
    )
    font = ImageFont.load_default(size=max(12, width // 16))
    lines = textwrap.wrap(" ".join(title.split())[:200], width=22)[:5]
    top = round(height * 0.2)
    for line in lines:
        draw.text((16, top), line, fill=(20, 24, 33), font=font)
        top += round(font.size * 1.3)
    return _png(image)


# --- Shared helpers --------------------------------------------------------------------------


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# Control characters other than tab and newline (PDF fonts often map bullets to DEL, 0x7f);
# they mean nothing to a reader and show as boxes in snippets.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _join(chunks: list[str], limits: Limits) -> str:
    chunks = [_CONTROL.sub(" ", chunk).strip() for chunk in chunks]
    return "\n\n".join(chunk for chunk in chunks if chunk)[: limits.max_chars]


def _chars_note(limits: Limits) -> str:
    return f"Only the first {limits.max_chars:,} characters were kept for search."


def _pages_note(kept: int, total: int, unit: str) -> str:
    return f"Only the first {kept} of {total} {unit} were read for search."


EXTRACTORS = {
    "pdf": extract_pdf,
    "pptx": extract_pptx,
    "docx": extract_docx,
    "text": extract_text_file,
    "image": extract_image,
}


def extract(path: Path, *, filename: str, limits: Limits) -> Extraction:
    """Process one file in this process. Raises ExtractionError; see the module contract."""
    kind = kind_for(filename)
    if kind is None:
        raise ExtractionError(f"Text is not extracted from .{extension_of(filename)} files.")
    return EXTRACTORS[kind](Path(path), limits=limits)


# --- The bounded child process ---------------------------------------------------------------


def extract_bounded(
    path: Path, *, filename: str, limits: Limits, timeout: float, max_memory_mb: int
) -> Extraction:
    """Run ``extract`` in a child process killed after ``timeout`` seconds, with its address
    space capped at ``max_memory_mb``. Raises ExtractionError for every failure, including
    the child being killed."""
    with tempfile.TemporaryDirectory(prefix="extract-") as workdir:
        command = _worker_command(path, filename, limits, Path(workdir), max_memory_mb)
        try:
            completed = subprocess.run(  # noqa: S603 - our own interpreter and module
                command,
                cwd=_PROJECT_ROOT,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ExtractionError(
                f"Processing took longer than {timeout:g} seconds and was stopped."
            ) from error
        return _read_worker_result(Path(workdir), completed.returncode, max_memory_mb)


_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _worker_command(path, filename, limits, workdir, max_memory_mb) -> list[str]:
    """The child's command line (a seam the time-limit test replaces with a slow command)."""
    settings = json.dumps({"limits": limits.__dict__, "max_memory_mb": max_memory_mb})
    return [
        sys.executable,
        "-m",
        "cms.extraction",
        str(path),
        filename,
        str(workdir),
        settings,
    ]


def _read_worker_result(workdir: Path, returncode: int, max_memory_mb: int) -> Extraction:
    result_path = workdir / "result.json"
    if not result_path.exists():
        raise ExtractionError(
            "Processing stopped unexpectedly (it may have needed more than "
            f"{max_memory_mb} MB of memory); the file could not be read."
        )
    result = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("error"):
        raise ExtractionError(result["error"])
    thumbnail_path = workdir / "thumbnail.png"
    return Extraction(
        text=(workdir / "text.txt").read_text(encoding="utf-8"),
        page_count=result["page_count"],
        thumbnail=thumbnail_path.read_bytes() if thumbnail_path.exists() else None,
        notes=result["notes"],
        searchable=result["searchable"],
    )


def _limit_memory(max_memory_mb: int) -> None:
    """Cap the address space at what the loaded interpreter and libraries already use plus
    ``max_memory_mb``, so the budget is for the file, not for importing pdfium."""
    import os
    import resource

    import docx  # noqa: F401 - loaded before the cap so the cap measures the file's cost
    import PIL.Image  # noqa: F401
    import pptx  # noqa: F401
    import pypdf  # noqa: F401
    import pypdfium2  # noqa: F401

    try:
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        in_use = 0
    limit = in_use + max_memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _write_result(workdir: Path, extraction: Extraction | None, error: str = "") -> None:
    if extraction is not None:
        (workdir / "text.txt").write_text(extraction.text, encoding="utf-8")
        if extraction.thumbnail:
            (workdir / "thumbnail.png").write_bytes(extraction.thumbnail)
    result = {
        "error": error,
        "page_count": extraction.page_count if extraction else None,
        "notes": extraction.notes if extraction else [],
        "searchable": extraction.searchable if extraction else True,
    }
    (workdir / "result.json").write_text(json.dumps(result), encoding="utf-8")


def main(argv: list[str]) -> int:
    """Child entry point: ``python -m cms.extraction PATH FILENAME WORKDIR SETTINGS_JSON``."""
    path, filename, workdir, raw_settings = argv
    options = json.loads(raw_settings)
    _limit_memory(options["max_memory_mb"])
    logging.disable(logging.CRITICAL)  # pypdf logs every oddity of a file; errors say enough
    warnings.simplefilter("ignore")
    try:
        extraction = extract(Path(path), filename=filename, limits=Limits(**options["limits"]))
    except ExtractionError as error:
        _write_result(Path(workdir), None, str(error))
    except MemoryError:
        _write_result(
            Path(workdir),
            None,
            f"The file needs more than {options['max_memory_mb']} MB of memory to process.",
        )
    except Exception:  # noqa: BLE001 - any other failure means the file is unreadable
        _write_result(Path(workdir), None, "The file is damaged and could not be read.")
    else:
        _write_result(Path(workdir), extraction)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
