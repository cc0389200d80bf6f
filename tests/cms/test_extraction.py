"""Text, pages, page counts and thumbnails from real generated files, the registry of formats,
the upload signature checks, and the bounds that protect the server from broken, encrypted,
oversized and hostile files. PDFs, Office files, the sandbox and Tika have their own modules.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
from PIL import Image

from cms.extraction import (
    ExtractionError,
    Limits,
    check_signature,
    clean,
    extract,
    parser_for,
    unsupported_reason,
)
from cms.extraction.base import MB
from cms.extraction.registry import Parser, register
from tests.cms.builders import (
    declare_size,
    make_docx,
    make_pdf,
    make_png,
    make_pptx,
    rewrite_zip,
    write,
    zip_bomb_docx,
)

LIMITS = Limits(ocr_pages=0)


# --- The registry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "parser"),
    [
        ("deck.pdf", "pdf"),
        ("Deck.PPTX", "pptx"),
        ("show.ppsx", "pptx"),
        ("template.potx", "pptx"),
        ("brief.docx", "docx"),
        ("letter.dotx", "docx"),
        ("prices.xlsx", "xlsx"),
        ("notes.md", "text"),
        ("webinar.vtt", "transcript"),
        ("webinar.srt", "transcript"),
        ("logo.png", "image"),
        ("old.doc", "tika"),
        ("old.ppt", "tika"),
        ("minutes.odt", "tika"),
        ("mail.msg", "tika"),
    ],
)
def test_each_format_is_read_by_its_own_module(filename, parser):
    assert parser_for(filename).name == parser


def test_a_type_the_library_only_stores_says_its_text_is_not_searchable():
    assert parser_for("movie.mp4") is None
    assert "Text is not extracted from .mp4 files" in unsupported_reason("movie.mp4", LIMITS)
    with pytest.raises(ExtractionError, match="not extracted from .mp4"):
        extract("movie.mp4", filename="movie.mp4", limits=LIMITS)


def test_an_extension_cannot_be_claimed_by_two_parsers():
    class Impostor(Parser):
        name = "impostor"
        extensions = ("pdf",)

    with pytest.raises(ValueError, match=r"\.pdf is already read by pdf"):
        register(Impostor)


# --- Text and counts ------------------------------------------------------------------------------


def test_pdf_text_of_every_page_with_page_numbers_and_count(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["Alpha pricing", "Beta roadmap", "Gamma ROI"]))

    result = extract(path, filename="deck.pdf", limits=LIMITS)

    assert result.page_count == 3
    assert [(page.number, page.text) for page in result.pages] == [
        (1, "Alpha pricing"),
        (2, "Beta roadmap"),
        (3, "Gamma ROI"),
    ]
    assert result.text == "Alpha pricing\n\nBeta roadmap\n\nGamma ROI"
    assert result.notes == []


def test_pptx_one_page_per_slide_with_tables_groups_and_notes(tmp_path):
    content = make_pptx(
        [("Why buy now", "Costs rise in Q3"), ("Proof", "Acme cut churn 20%")],
        notes="Mention the Acme case study",
        table=True,
    )
    path = write(tmp_path, "pitch.pptx", content)

    result = extract(path, filename="pitch.pptx", limits=LIMITS)

    assert result.page_count == 2
    assert [page.number for page in result.pages] == [1, 2]
    assert result.pages[0].text == "Why buy now\nCosts rise in Q3"
    second = result.pages[1].text
    for expected in ("Proof", "Acme cut churn 20%", "Competitor", "Cheaper", "Grouped"):
        assert expected in second
    assert second.endswith("Mention the Acme case study")  # the slide's notes are on its page
    assert result.text.index("Why buy now") < result.text.index("Proof")


def test_docx_text_from_paragraphs_and_tables_in_document_order(tmp_path):
    content = make_docx(
        ["Battlecard: Initech", "We win on onboarding time"],
        table=[["Feature", "Us"], ["SSO", "Included"]],
    )
    path = write(tmp_path, "card.docx", content)

    result = extract(path, filename="card.docx", limits=LIMITS)

    assert result.text.startswith("Battlecard: Initech")
    assert "Feature\tUs\nSSO\tIncluded" in result.text
    assert result.pages == []  # Word has no fixed pages to keep


def test_docx_page_count_is_the_one_word_saved_in_the_package(tmp_path):
    content = make_docx(["Seven pages according to Word"])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        app_xml = archive.read("docProps/app.xml").replace(b"<Pages>1</Pages>", b"<Pages>7</Pages>")
    saved_by_word = rewrite_zip(content, add={"docProps/app.xml": app_xml})
    without_count = rewrite_zip(
        content, add={"docProps/app.xml": app_xml.replace(b"<Pages>7</Pages>", b"")}
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

    result = extract(path, filename="long.pdf", limits=Limits(max_pages=2, ocr_pages=0))

    assert result.page_count == 5
    assert [page.number for page in result.pages] == [1, 2]
    assert "Topic2" in result.text and "Topic3" not in result.text
    assert result.notes == ["Only the first 2 of 5 pages were read for search."]


def test_slide_limit_reads_only_the_first_slides_and_says_so(tmp_path):
    path = write(tmp_path, "d.pptx", make_pptx([(f"Slide{n}", "body") for n in range(1, 5)]))

    result = extract(path, filename="d.pptx", limits=Limits(max_pages=3, ocr_pages=0))

    assert result.page_count == 4 and len(result.pages) == 3
    assert result.notes == ["Only the first 3 of 4 slides were read for search."]


@pytest.mark.parametrize("filename", ["big.txt", "big.pdf"])
def test_character_limit_cuts_the_text_and_says_so(tmp_path, filename):
    if filename.endswith(".txt"):
        content = b"x" * 5000
    else:
        content = make_pdf(["word " * 150] * 10)
    path = write(tmp_path, filename, content)

    result = extract(path, filename=filename, limits=Limits(max_chars=1000, ocr_pages=0))

    assert len(result.text) == 1000
    assert result.notes == ["Only the first 1,000 characters were kept for search."]


def test_lone_surrogates_and_control_characters_never_reach_stored_text():
    # Broken font maps give halves of UTF-16 surrogate pairs; some fonts map bullets to DEL.
    text = clean("Price \ud800 list\r\ncoverage\x7f on day two\x07 linked")

    assert text == "Price \ufffd list\ncoverage  on day two  linked"
    text.encode("utf-8")  # would raise on a lone surrogate


def test_ligatures_and_width_forms_become_the_letters_a_reader_sees():
    text = clean(
        "The \ufb01nancial work\ufb02ow is e\ufb03cient. "
        "\uff30\uff24\uff26 \uff76\uff9e\uff72\uff84\uff9e"  # full-width PDF, half-width katakana
    )

    assert text == "The financial workflow is efficient. PDF ガイド"


def test_normalising_keeps_the_symbols_a_reader_would_see_change():
    # Full NFKC would show these as "m2", "TM", "1⁄2", "1" and "...": a visible change.
    assert clean("10 m² ™ ½ ① … ®") == "10 m² ™ ½ ① … ®"


def test_an_accent_typed_as_a_separate_mark_is_joined_to_its_letter():
    assert clean("cafe\u0301 Gro\u0308\u00dfe") == "café Größe"


def test_ligatures_in_a_word_file_are_stored_as_plain_letters(tmp_path):
    path = write(
        tmp_path, "brief.docx", make_docx(["Our \ufb01nancial o\ufb00er is e\ufb03cient."])
    )

    result = extract(path, filename="brief.docx", limits=LIMITS)

    assert "Our financial offer is efficient." in result.text


# --- Transcripts -----------------------------------------------------------------------------


def test_webvtt_transcript_keeps_what_is_said_without_timings_markup_or_repeats(tmp_path):
    vtt = (
        "WEBVTT - Product webinar\n\nNOTE recorded in March\n\n"
        "intro\n00:00:01.000 --> 00:00:04.000 align:start\n<v Ann>Welcome to the <b>pricing</b> "
        "webinar</v>\n\n"
        "00:00:04.000 --> 00:00:06.500\nWelcome to the pricing webinar\n"
        "Today: renewals &amp; discounts\n"
    )
    path = write(tmp_path, "webinar.vtt", vtt.encode())

    result = extract(path, filename="webinar.vtt", limits=LIMITS)

    assert result.text == "Welcome to the pricing webinar\nToday: renewals & discounts"
    assert result.thumbnail.startswith(b"\x89PNG")


def test_subrip_transcript_drops_cue_numbers_and_timings(tmp_path):
    srt = (
        "1\r\n00:00:01,000 --> 00:00:03,000\r\n<i>Our onboarding</i> takes two weeks\r\n\r\n"
        "2\r\n00:00:03,500 --> 00:00:05,000\r\n{\\an8}Customers go live in March\r\n"
    )
    path = write(tmp_path, "demo.srt", srt.encode("utf-8-sig"))

    assert extract(path, filename="demo.srt", limits=LIMITS).text == (
        "Our onboarding takes two weeks\nCustomers go live in March"
    )


# --- Thumbnails --------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def assert_not_blank(data: bytes) -> None:
    """A thumbnail a person can recognise: more than one flat colour, and not all white."""
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L")
        low, high = grey.getextrema()
        assert high - low > 40, f"flat thumbnail ({low}..{high})"
        assert low < 200, "a white thumbnail"


def test_image_is_its_own_thumbnail_and_has_no_text(tmp_path):
    result = extract(
        write(tmp_path, "logo.png", make_png(800, 600)), filename="logo.png", limits=LIMITS
    )

    assert png_size(result.thumbnail) == (400, 300)
    assert result.searchable is False and result.text == ""


def test_text_file_gets_a_title_card_naming_its_first_line(tmp_path):
    result = extract(write(tmp_path, "n.md", b"# Talk track\nbody"), filename="n.md", limits=LIMITS)

    assert png_size(result.thumbnail) == (400, 520)
    assert_not_blank(result.thumbnail)


# --- Broken and hostile files ------------------------------------------------------------------


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
    assert peak < 20 * MB


def test_one_part_that_would_unpack_beyond_the_absolute_limit_is_refused(tmp_path):
    content = rewrite_zip(make_docx(["Hi"]), add={"word/media/big.bin": b"\0" * (3 * MB)})
    path = write(tmp_path, "big.docx", content)

    with pytest.raises(ExtractionError, match="more than the 2 MB allowed for one part"):
        extract(path, filename="big.docx", limits=Limits(max_part_bytes=2 * MB, ocr_pages=0))


def test_a_large_part_compressed_beyond_the_allowed_ratio_is_refused(tmp_path):
    content = rewrite_zip(make_docx(["Hi"]), add={"word/media/zeros.bin": b"\0" * (5 * MB)})
    path = write(tmp_path, "ratio.docx", content)

    with pytest.raises(ExtractionError, match="compressed [0-9,]+ to 1"):
        extract(path, filename="ratio.docx", limits=Limits(ratio_floor_bytes=1 * MB, ocr_pages=0))


def test_a_highly_compressible_picture_is_not_mistaken_for_a_zip_bomb(tmp_path):
    # A blank 12 MB bitmap compresses about 1000 to 1; it is large but harmless.
    picture = rewrite_zip(
        make_docx(["Deck with a big flat picture"]),
        add={"word/media/image1.bmp": b"\xff" * (12 * MB)},
    )
    path = write(tmp_path, "picture.docx", picture)

    result = extract(path, filename="picture.docx", limits=LIMITS)

    assert result.text == "Deck with a big flat picture"


def test_embedded_package_that_declares_gigabytes_is_refused(tmp_path):
    from pptx import Presentation
    from pptx.enum.shapes import PROG_ID
    from pptx.util import Inches

    inner = rewrite_zip(make_docx(["inner"]), add={"xl/huge.xml": b"<a/>" * 25})
    inner = declare_size(inner, "xl/huge.xml", 3_000_000_000)
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    slide.shapes.add_ole_object(io.BytesIO(inner), PROG_ID.XLSX, Inches(1), Inches(1))
    buffer = io.BytesIO()
    presentation.save(buffer)
    path = write(tmp_path, "nested.pptx", buffer.getvalue())

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


def _png_header(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` 1-bit pixels with no picture data: what a pixel
    bomb (a small file that unpacks to gigabytes) looks like to a reader of its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [10_000, 40_000])  # over Pillow's warning / its error limit
def test_pixel_bomb_image_is_refused_with_its_size_not_as_damaged(tmp_path, side):
    path = write(tmp_path, "huge.png", _png_header(side, side))

    with pytest.raises(ExtractionError) as error:
        extract(path, filename="huge.png", limits=LIMITS)

    assert str(error.value) == (
        f"The image is {side}×{side} pixels, more than the 50,000,000 pixels allowed; "
        "export a smaller image and upload it again."
    )


# --- Signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("report.pdf", b"just some text", "is not a PDF"),
        ("deck.pptx", make_docx(["a word file"]), "contents do not match"),
        ("deck.pptx", b"%PDF-1.7 renamed", "not an Office package"),
        ("photo.png", b"\xff\xd8\xff\xe0 jpeg bytes", "not a PNG"),
        ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00", "binary data"),
        ("talk.vtt", b"1\n00:00:01.000 --> 00:00:02.000\nHi", "does not start with WEBVTT"),
        ("talk.srt", b"just words", "no cue timings"),
        ("old.doc", b"%PDF-1.4", "does not start like one"),
        ("old.rtf", b"plain words", "does not start like one"),
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
        ("a.vtt", b"\xef\xbb\xbfWEBVTT\n\n00:01.000 --> 00:02.000\nHi"),
        ("a.rtf", b"{\\rtf1 Hello}"),
        ("a.mp4", b"anything: stored, not read"),
    ]:
        check_signature(filename, io.BytesIO(content))
