"""Text, page counts and thumbnails from real generated files, and the bounds that protect
the server from broken, encrypted, oversized and hostile files.

The ``make_*`` builders here are also used by the upload and admin tests.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from cms import extraction
from cms.extraction import ExtractionError, Limits, check_signature, extract, extract_bounded

# --- Builders --------------------------------------------------------------------------------


def make_pdf(pages: list[str]) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_encrypted_pdf(pages: list[str], *, user_password: str, algorithm: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf(pages))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner-pw", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_pptx(slides: list[tuple[str, str]], *, notes: str = "", table: bool = False) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for title, body in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    last = presentation.slides[-1]
    if table:
        grid = last.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
        grid.cell(0, 0).text = "Competitor"
        grid.cell(1, 1).text = "Cheaper"
        group = last.shapes.add_group_shape()
        group.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1)).text = "Grouped"
    if notes:
        last.notes_slide.notes_text_frame.text = notes
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def make_docx(paragraphs: list[str], *, table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_png(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def rewrite_zip(data: bytes, *, drop=(), add: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip, dropping and adding members (deflated)."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename not in drop:
                    target.writestr(info, source.read(info))
            for name, content in (add or {}).items():
                target.writestr(name, content)
    return output.getvalue()


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """Make a zip's central directory claim that ``member`` unpacks to ``size`` bytes."""
    name = member.encode()
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length] == name:
            return data[: start + 24] + struct.pack("<I", size) + data[start + 28 :]
        start += 4


def zip_bomb_docx() -> bytes:
    """A real DOCX plus a part that declares 3.5 GB (a lying header) and is only a few bytes."""
    bomb = rewrite_zip(make_docx(["Looks harmless"]), add={"word/media/bomb.bin": b"\0" * 1024})
    return declare_size(bomb, "word/media/bomb.bin", 3_500_000_000)


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


LIMITS = Limits()


# --- Text and counts -------------------------------------------------------------------------


def test_pdf_text_of_every_page_and_page_count_are_extracted(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["Alpha pricing", "Beta roadmap", "Gamma ROI"]))

    result = extract(path, filename="deck.pdf", limits=LIMITS)

    assert result.page_count == 3
    assert "Alpha pricing" in result.text and "Gamma ROI" in result.text
    assert result.text.index("Alpha") < result.text.index("Beta") < result.text.index("Gamma")
    assert result.notes == []


def test_pptx_text_from_titles_bodies_tables_groups_and_notes_with_slide_count(tmp_path):
    content = make_pptx(
        [("Why buy now", "Costs rise in Q3"), ("Proof", "Acme cut churn 20%")],
        notes="Mention the Acme case study",
        table=True,
    )
    path = write(tmp_path, "pitch.pptx", content)

    result = extract(path, filename="pitch.pptx", limits=LIMITS)

    assert result.page_count == 2
    for expected in ("Why buy now", "Costs rise in Q3", "Acme cut churn 20%", "Competitor"):
        assert expected in result.text
    assert "Cheaper" in result.text and "Grouped" in result.text
    assert "Mention the Acme case study" in result.text


def test_docx_text_from_paragraphs_and_tables_in_document_order(tmp_path):
    content = make_docx(
        ["Battlecard: Initech", "We win on onboarding time"],
        table=[["Feature", "Us"], ["SSO", "Included"]],
    )
    path = write(tmp_path, "card.docx", content)

    result = extract(path, filename="card.docx", limits=LIMITS)

    assert result.text.startswith("Battlecard: Initech")
    assert (
        result.text.index("onboarding") < result.text.index("SSO") < result.text.index("Included")
    )


def test_docx_page_count_is_the_one_word_saved_in_the_package(tmp_path):
    content = make_docx(["Seven pages according to Word"])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        app_xml = archive.read("docProps/app.xml").replace(b"<Pages>1</Pages>", b"<Pages>7</Pages>")
    saved_by_word = rewrite_zip(
        content, drop={"docProps/app.xml"}, add={"docProps/app.xml": app_xml}
    )
    without_count = rewrite_zip(
        content,
        drop={"docProps/app.xml"},
        add={"docProps/app.xml": app_xml.replace(b"<Pages>7</Pages>", b"")},
    )

    assert (
        extract(
            write(tmp_path, "a.docx", saved_by_word), filename="a.docx", limits=LIMITS
        ).page_count
        == 7
    )
    assert (
        extract(
            write(tmp_path, "b.docx", without_count), filename="b.docx", limits=LIMITS
        ).page_count
        is None
    )


def test_text_and_markdown_files_are_decoded_including_windows_encoded_text(tmp_path):
    markdown = write(tmp_path, "notes.md", "# Objection handling\nPrix trop élevé".encode())
    legacy = write(tmp_path, "old.txt", "Café pricing – 2019".encode("cp1252"))

    assert extract(markdown, filename="notes.md", limits=LIMITS).text == (
        "# Objection handling\nPrix trop élevé"
    )
    assert extract(legacy, filename="old.txt", limits=LIMITS).text == "Café pricing – 2019"


def test_page_limit_reads_only_the_first_pages_and_says_so(tmp_path):
    path = write(tmp_path, "long.pdf", make_pdf([f"Topic{n}" for n in range(1, 6)]))

    result = extract(path, filename="long.pdf", limits=Limits(max_pages=2))

    assert result.page_count == 5
    assert "Topic2" in result.text and "Topic3" not in result.text
    assert result.notes == ["Only the first 2 of 5 pages were read for search."]


def test_character_limit_cuts_the_text_and_says_so(tmp_path):
    path = write(tmp_path, "big.txt", b"x" * 5000)

    result = extract(path, filename="big.txt", limits=Limits(max_chars=1000))

    assert len(result.text) == 1000
    assert "1,000 characters" in result.notes[0]


# --- Thumbnails ------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_pdf_thumbnail_is_a_real_png_of_the_first_page_400_pixels_wide(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["Cover page"]))

    result = extract(path, filename="deck.pdf", limits=LIMITS)

    assert result.thumbnail.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = png_size(result.thumbnail)
    assert width == 400 and 500 < height < 600  # an A4 page keeps its proportions
    with Image.open(io.BytesIO(result.thumbnail)) as image:
        assert len(image.convert("L").getcolors(maxcolors=100_000)) > 1  # text was drawn


def test_pptx_thumbnail_is_the_decks_own_preview_when_it_has_one(tmp_path):
    preview = io.BytesIO()
    Image.new("RGB", (256, 144), (0, 128, 0)).save(preview, format="JPEG")
    content = rewrite_zip(
        make_pptx([("Title", "Body")]),
        drop={"docProps/thumbnail.jpeg"},
        add={"docProps/thumbnail.jpeg": preview.getvalue()},
    )

    result = extract(write(tmp_path, "d.pptx", content), filename="d.pptx", limits=LIMITS)

    assert png_size(result.thumbnail) == (400, 225)
    with Image.open(io.BytesIO(result.thumbnail)) as image:
        red, green, blue = image.convert("RGB").getpixel((200, 112))
    assert green > 100 and red < 30 and blue < 30


def test_pptx_without_a_preview_gets_a_title_card(tmp_path):
    content = rewrite_zip(make_pptx([("Q3 launch", "Body")]), drop={"docProps/thumbnail.jpeg"})

    result = extract(write(tmp_path, "d.pptx", content), filename="d.pptx", limits=LIMITS)

    assert png_size(result.thumbnail) == (400, 225)


def test_image_is_its_own_thumbnail_and_has_no_text(tmp_path):
    result = extract(
        write(tmp_path, "logo.png", make_png(800, 600)), filename="logo.png", limits=LIMITS
    )

    assert png_size(result.thumbnail) == (400, 300)
    assert result.searchable is False and result.text == ""


# --- Broken, encrypted and hostile files -----------------------------------------------------


def test_truncated_pdf_fails_with_a_clear_error(tmp_path):
    whole = make_pdf(["Page one", "Page two"])
    path = write(tmp_path, "cut.pdf", whole[: len(whole) // 2])

    with pytest.raises(ExtractionError, match="damaged or incomplete"):
        extract(path, filename="cut.pdf", limits=LIMITS)


def test_pdf_with_a_password_fails_with_a_message_asking_for_an_unprotected_copy(tmp_path):
    content = make_encrypted_pdf(["Secret plan"], user_password="s3cret", algorithm="AES-256")
    path = write(tmp_path, "locked.pdf", content)

    with pytest.raises(ExtractionError, match="protected by a password"):
        extract(path, filename="locked.pdf", limits=LIMITS)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_extracted(tmp_path, algorithm):
    content = make_encrypted_pdf(["Open to read"], user_password="", algorithm=algorithm)
    path = write(tmp_path, "restricted.pdf", content)

    result = extract(path, filename="restricted.pdf", limits=LIMITS)

    assert "Open to read" in result.text and result.page_count == 1
    assert result.thumbnail.startswith(b"\x89PNG")


def test_zip_bomb_that_declares_gigabytes_is_refused_before_anything_is_unpacked(tmp_path):
    path = write(tmp_path, "bomb.docx", zip_bomb_docx())

    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ExtractionError, match="zip bomb"):
        extract(path, filename="bomb.docx", limits=LIMITS)
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert elapsed < 2
    assert peak < 20 * 1024 * 1024


def test_part_compressed_beyond_the_allowed_ratio_is_refused(tmp_path):
    content = rewrite_zip(
        make_docx(["Hi"]), add={"word/media/zeros.bin": b"\0" * (20 * 1024 * 1024)}
    )
    path = write(tmp_path, "ratio.docx", content)

    with pytest.raises(ExtractionError, match="compressed [0-9,]+ to 1"):
        extract(path, filename="ratio.docx", limits=LIMITS)


def test_nested_package_that_declares_gigabytes_is_refused(tmp_path):
    inner = rewrite_zip(make_docx(["inner"]), add={"xl/huge.bin": b"\0" * 100})
    inner = declare_size(inner, "xl/huge.bin", 3_000_000_000)
    content = rewrite_zip(make_pptx([("Deck", "Chart")]), add={"ppt/embeddings/Sheet1.xlsx": inner})
    path = write(tmp_path, "nested.pptx", content)

    with pytest.raises(ExtractionError, match="zip bomb"):
        extract(path, filename="nested.pptx", limits=LIMITS)


def test_docx_that_is_not_a_zip_fails_with_a_clear_error(tmp_path):
    path = write(tmp_path, "fake.docx", b"PK\x03\x04 this is not really a zip")

    with pytest.raises(ExtractionError, match="damaged"):
        extract(path, filename="fake.docx", limits=LIMITS)


def test_image_over_the_pixel_limit_is_refused(tmp_path):
    path = write(tmp_path, "huge.png", make_png(3000, 3000))

    with pytest.raises(ExtractionError, match="3000×3000 pixels"):
        extract(path, filename="huge.png", limits=Limits(max_image_pixels=1_000_000))


# --- Signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("report.pdf", b"just some text", "is not a PDF"),
        ("deck.pptx", make_docx(["a word file"]), "contents do not match"),
        ("deck.pptx", b"%PDF-1.7 renamed", "not an Office package"),
        ("photo.png", b"\xff\xd8\xff\xe0 jpeg bytes", "not a PNG"),
        ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00", "binary data"),
    ],
)
def test_file_whose_content_contradicts_its_extension_is_refused(filename, content, message):
    with pytest.raises(ExtractionError, match=message):
        check_signature(filename, io.BytesIO(content))


def test_files_that_match_their_extension_pass_the_signature_check():
    for filename, content in [
        ("a.pdf", make_pdf(["x"])),
        ("a.pptx", make_pptx([("t", "b")])),
        ("a.docx", make_docx(["x"])),
        ("a.png", make_png(10, 10)),
        ("a.md", "# título".encode()),
    ]:
        check_signature(filename, io.BytesIO(content))


# --- The bounded child process ---------------------------------------------------------------


def test_extraction_in_the_child_process_returns_text_and_thumbnail(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["Hello from the child"]))

    result = extract_bounded(
        path, filename="deck.pdf", limits=LIMITS, timeout=30, max_memory_mb=1024
    )

    assert "Hello from the child" in result.text
    assert result.page_count == 1 and result.thumbnail.startswith(b"\x89PNG")


def test_child_errors_come_back_as_the_same_clear_message(tmp_path):
    path = write(tmp_path, "bomb.docx", zip_bomb_docx())

    with pytest.raises(ExtractionError, match="zip bomb"):
        extract_bounded(path, filename="bomb.docx", limits=LIMITS, timeout=30, max_memory_mb=1024)


def test_extraction_running_past_the_time_limit_is_killed(tmp_path, monkeypatch):
    pid_file = tmp_path / "child.pid"
    hang = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    monkeypatch.setattr(extraction, "_worker_command", lambda *args: [sys.executable, "-c", hang])
    path = write(tmp_path, "slow.pdf", make_pdf(["x"]))

    started = time.monotonic()
    with pytest.raises(ExtractionError, match="longer than 1 seconds and was stopped"):
        extract_bounded(path, filename="slow.pdf", limits=LIMITS, timeout=1, max_memory_mb=1024)

    assert time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_child_that_runs_out_of_memory_is_reported(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["x"]))

    with pytest.raises(ExtractionError, match="more than 1 MB of memory"):
        extract_bounded(path, filename="deck.pdf", limits=LIMITS, timeout=30, max_memory_mb=1)


def test_control_characters_from_pdf_fonts_do_not_reach_search_text():
    # Some PDF fonts map bullets to DEL (0x7f); pypdf hands them over as they are.
    text = extraction._join(["coverage on day two\n\x7f\nIncidents\x07 linked"], LIMITS)

    assert text == "coverage on day two\n \nIncidents  linked"
