"""PDFs page by page: bad pages skipped with a note, form fields and annotations read, the
better of two readers kept by a measurable rule, scanned pages read by Tesseract (or reported),
broken structure repaired, encryption handled, and a thumbnail that is never a white page."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
import reportlab
from PIL import Image

from cms.extraction import ExtractionError, Limits, extract
from cms.extraction import ocr as ocr_module
from cms.extraction import pdf as pdf_module
from cms.extraction.pdf import choose_text, word_share
from cms.extraction.thumbnails import is_blank
from tests.cms.builders import (
    FIXTURES,
    make_encrypted_pdf,
    make_form_pdf,
    make_pdf,
    make_pdf_mapping_to_lone_surrogate,
    make_pdf_with_white_cover,
    make_scanned_pdf,
    without_xref,
    write,
)

LIMITS = Limits(ocr_pages=0)
IN_CI = os.environ.get("CI", "").lower() == "true"
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None and not IN_CI,
    reason="Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)",
)


def read(tmp_path, content: bytes, *, limits: Limits = LIMITS, name: str = "file.pdf"):
    return extract(write(tmp_path, name, content), filename=name, limits=limits)


# --- A bad page costs only itself ----------------------------------------------------------------


def test_a_page_neither_reader_can_read_is_skipped_and_named_in_a_note(tmp_path, monkeypatch):
    broken = {2, 4}  # pages (from 1) that fail in pypdf and pdfium alike
    real_pypdf, real_pdfium = pdf_module._pypdf_text, pdf_module._pdfium_text

    def pypdf(reader, index, seconds):
        return None if index + 1 in broken else real_pypdf(reader, index, seconds)

    def pdfium(document, index):
        return None if index + 1 in broken else real_pdfium(document, index)

    monkeypatch.setattr(pdf_module, "_pypdf_text", pypdf)
    monkeypatch.setattr(pdf_module, "_pdfium_text", pdfium)

    result = read(tmp_path, make_pdf(["One", "Two", "Three", "Four", "Five"]))

    assert [(page.number, page.text) for page in result.pages] == [
        (1, "One"), (2, ""), (3, "Three"), (4, ""), (5, "Five"),
    ]  # fmt: skip
    assert result.notes == ["Pages 2 and 4 could not be read."]


def test_a_page_pypdf_fails_on_is_read_by_pdfium(tmp_path, monkeypatch):
    real = pdf_module._pypdf_text
    monkeypatch.setattr(
        pdf_module,
        "_pypdf_text",
        lambda reader, index, s: None if index == 1 else real(reader, index, s),
    )

    result = read(tmp_path, make_pdf(["Alpha", "Bravo", "Charlie"]))

    assert [page.text for page in result.pages] == ["Alpha", "Bravo", "Charlie"]
    assert result.notes == []


def test_truncated_pdf_fails_with_a_clear_error(tmp_path):
    whole = make_pdf(["Page one", "Page two"])

    with pytest.raises(ExtractionError, match="damaged or incomplete"):
        read(tmp_path, whole[: len(whole) // 2])


INCOMPLETE = (
    "The file is incomplete (it was cut off, perhaps while copying or uploading); the text of "
    "the pages that could be read is shown"
)
RE_EXPORT = " Export it again from the original and upload the new file."


def _five_pages() -> bytes:
    return make_pdf([f"Chapter {number} words" for number in range(1, 6)])


def test_a_cut_off_pdf_keeps_the_pages_it_has_and_says_it_is_incomplete(tmp_path):
    whole = _five_pages()

    result = read(tmp_path, whole[: len(whole) * 7 // 10])

    assert [page.text for page in result.pages[:2]] == ["Chapter 1 words", "Chapter 2 words"]
    assert "Chapter 5" not in result.text
    assert result.notes == [INCOMPLETE + "." + RE_EXPORT]


def test_a_cut_off_pdf_that_lost_pages_says_how_many_of_them_were_read(tmp_path):
    whole = _five_pages()  # cut in the middle of its page tree: only page 1 is left in it

    result = read(tmp_path, whole[: len(whole) // 2])

    assert result.page_count == 1
    assert result.notes == [INCOMPLETE + ": 1 of its 5 pages." + RE_EXPORT]


def test_a_pdf_without_cross_references_is_read_and_said_to_be_damaged(tmp_path):
    result = read(tmp_path, without_xref(make_pdf(["No xref here", "Second page"])))

    assert [page.text for page in result.pages] == ["No xref here", "Second page"]
    assert result.notes == [
        "The file is damaged (its structure had to be rebuilt); the text of the pages that "
        "could be read is shown." + RE_EXPORT
    ]


def test_a_pdf_whose_end_points_at_no_cross_references_is_said_to_be_damaged(tmp_path):
    whole = make_pdf(["One", "Two"])
    offset = whole[whole.rindex(b"startxref") :].split()[1]
    wrong = whole.replace(b"startxref\n" + offset, b"startxref\n" + b"%d" % 20, 1)

    result = read(tmp_path, wrong)

    assert [page.text for page in result.pages] == ["One", "Two"]
    assert result.notes[0].startswith("The file is damaged (its structure had to be rebuilt)")


def test_a_complete_pdf_with_bytes_before_its_header_has_no_note(tmp_path):
    # Offsets counted from "%PDF-" rather than the file's start, as readers accept.
    result = read(tmp_path, b"From a mail gateway\n" + _five_pages())

    assert result.page_count == 5 and result.notes == []


def test_a_complete_pdf_padded_after_its_end_has_no_note(tmp_path):
    result = read(tmp_path, _five_pages() + b"\r\n\x00\x00\n" * 50)

    assert result.page_count == 5 and result.notes == []


# --- What a reader sees besides the text layer --------------------------------------------------


def test_annotations_and_form_field_values_are_read_on_their_page(tmp_path):
    result = read(tmp_path, make_form_pdf())

    first, second = result.pages
    assert first.text == "Order form for enterprise licences\n\nReviewer note: confirm the discount"
    assert second.text == "Customer details\n\nCustomer name: Initech Holdings"


def test_real_acroform_and_sticky_note_fixtures(tmp_path):
    # Apache Tika's test documents (see fixtures/documents/README.md).
    form = read(tmp_path, (FIXTURES / "acroform.pdf").read_bytes()).text
    note = read(tmp_path, (FIXTURES / "annotation.pdf").read_bytes()).text

    assert "aTextField: TIKA-1226" in form and "comboExportB" in form
    assert "Sticky Note\nthis is the note" in note


# --- The better of two readers, by a measurable rule ------------------------------------------


def test_word_share_measures_how_word_like_a_text_is():
    assert word_share("Pricing starts at $990 per seat, billed yearly.") == 1.0
    assert word_share("Pricingstartsat990perseatbilledyearly") == 0.0  # spaces lost
    assert word_share("\ue001\ue002\ue003 \ue004\ue005") == 0.0  # private-use glyphs
    assert word_share("(cid:12)(cid:40) (cid:7)") == 0.0  # no character map
    assert word_share("価格は席ごとに年額で請求されます") == 1.0  # Japanese has no spaces
    assert word_share("") == 0.0


def test_pdfium_text_is_kept_only_when_clearly_more_word_like():
    good = "Pricing starts at 990 per seat billed yearly"
    unspaced = "Pricingstartsat990perseatbilledyearly"

    assert choose_text(unspaced, good) == (good, "pdfium")
    assert choose_text("\ue001\ue002 \ue003", good) == (good, "pdfium")
    assert choose_text(good, good.replace(" yearly", " yearly!")) == (good, "pypdf")  # a tie
    assert choose_text("", good) == (good, "pdfium")
    assert choose_text(good, "") == (good, "pypdf")


def test_a_font_mapping_to_half_a_surrogate_pair_does_not_break_the_text(tmp_path):
    text = read(tmp_path, make_pdf_mapping_to_lone_surrogate()).text

    assert text.startswith("Price") and text.endswith("list")
    text.encode("utf-8")


# --- Encryption ----------------------------------------------------------------------------------


def test_pdf_with_a_password_fails_with_protected_status(tmp_path):
    content = make_encrypted_pdf(["Secret plan"], user_password="s3cret", algorithm="AES-256")

    with pytest.raises(ExtractionError, match="PDF is protected by a password") as error:
        read(tmp_path, content)

    assert error.value.status == "protected"


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_extracted(tmp_path, algorithm):
    content = make_encrypted_pdf(["Open to read"], user_password="", algorithm=algorithm)

    result = read(tmp_path, content)

    assert result.text == "Open to read" and result.page_count == 1
    assert result.thumbnail.startswith(b"\x89PNG")


def _pdf_drawn_with_ligatures(lines: list[str]) -> bytes:
    """A PDF whose text layer holds ligature characters (U+FB01 "ﬁ", U+FB02 "ﬂ"), as PDFs
    from InDesign, LaTeX or Word with OpenType ligatures do: drawn in Bitstream Vera, the font
    reportlab ships, which has those two glyphs."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    pdfmetrics.registerFont(TTFont("Vera", str(font)))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in lines:
        pdf.setFont("Vera", 12)
        pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_ligatures_in_a_pdf_are_stored_as_the_letters_a_reader_sees(tmp_path):
    content = _pdf_drawn_with_ligatures(["Cover", "The \ufb01nancial work\ufb02ow is \ufb01ne"])

    result = read(tmp_path, content)

    assert result.pages[1].text == "The financial workflow is fine"
    assert "The financial workflow" in result.text
    assert "\ufb01" not in result.text and "\ufb02" not in result.text


# --- Scanned pages ---------------------------------------------------------------------------


def test_scanned_pdf_without_tesseract_says_it_has_no_text_layer(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract", lambda: None)

    result = read(tmp_path, make_scanned_pdf([["Quarterly report"]]), limits=Limits())

    assert result.text == ""
    assert result.notes[0].startswith("No text layer: this PDF looks scanned")


def test_only_the_scanned_pages_of_a_mixed_pdf_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract", lambda: None)
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for content in (make_pdf(["Typed page"]), make_scanned_pdf([["Scan"]])):
        for page in PdfReader(io.BytesIO(content)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)

    result = read(tmp_path, buffer.getvalue(), limits=Limits())

    assert result.text == "Typed page"
    assert result.notes == [
        "Page 2 has no text layer (scanned), so its words cannot be searched; text recognition "
        "(OCR) is not available on this server."
    ]


@needs_tesseract
def test_scanned_pages_are_read_by_tesseract_within_the_page_limit(tmp_path):
    content = make_scanned_pdf(
        [["Renewal pricing update", "Effective January"], ["Second scanned page"], ["Third"]]
    )

    result = read(tmp_path, content, limits=Limits(ocr_pages=2))

    assert "Renewal pricing update" in result.pages[0].text
    assert "Second scanned page" in result.pages[1].text
    assert result.pages[2].text == ""
    assert result.notes == [
        "Pages 1 and 2 had no text layer (scanned); the text shown was read by text recognition "
        "(OCR) and may contain mistakes.",
        "Page 3 looks scanned but could not be read by text recognition within the page or "
        "time limit.",
    ]


def test_scanned_pages_in_which_ocr_finds_no_text_are_named_in_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract", lambda: "/usr/bin/tesseract")
    read_by_ocr = {1: "Clause one", 2: "", 3: "   \n"}  # pages 2 and 3 come back empty

    def recognise_image(image_path, *, languages, seconds):
        return read_by_ocr[int(image_path.stem.split("-")[1])]

    monkeypatch.setattr(ocr_module, "recognise_image", recognise_image)

    result = read(tmp_path, make_scanned_pdf([["One"], ["Two"], ["Three"]]), limits=Limits())

    assert result.text == "Clause one"
    assert result.notes[-1] == (
        "Pages 2 and 3 look scanned, but text recognition (OCR) found no text on them; if the "
        "scan shows words, upload a sharper scan or a PDF with text."
    )


@needs_tesseract
def test_a_blank_scanned_page_says_ocr_found_no_text_on_it(tmp_path):
    result = read(tmp_path, make_scanned_pdf([[]]), limits=Limits())

    assert result.text == ""
    assert result.notes == [
        "Page 1 looks scanned, but text recognition (OCR) found no text on it; if the scan "
        "shows words, upload a sharper scan or a PDF with text."
    ]


@needs_tesseract
def test_ocr_stops_when_the_files_time_runs_out(tmp_path):
    content = make_scanned_pdf([["One"], ["Two"]])

    result = read(tmp_path, content, limits=Limits(seconds=1.0))

    assert "could not be read by text recognition within the page or time limit" in result.notes[-1]


# --- Thumbnails and page previews ---------------------------------------------------------------


def test_pdf_thumbnail_is_the_first_page_400_pixels_wide(tmp_path):
    result = read(tmp_path, make_pdf(["Cover page"]))

    with Image.open(io.BytesIO(result.thumbnail)) as image:
        assert image.format == "PNG"
        assert image.width == 400 and 500 < image.height < 600  # an A4 page keeps its shape
        assert not is_blank(image)


def test_a_white_first_page_is_skipped_for_the_thumbnail(tmp_path):
    result = read(tmp_path, make_pdf_with_white_cover("Real cover"))

    with Image.open(io.BytesIO(result.thumbnail)) as image:
        assert not is_blank(image)
        assert image.convert("L").getextrema()[0] < 50  # the black box of page 2


def test_a_pdf_of_blank_pages_gets_a_title_card_not_a_white_page(tmp_path):
    result = read(tmp_path, make_pdf(["", "", ""]), name="empty-brochure.pdf")

    with Image.open(io.BytesIO(result.thumbnail)) as image:
        assert not is_blank(image)


def test_a_page_is_drawn_as_a_preview(tmp_path):
    path = write(tmp_path, "deck.pdf", make_pdf(["One", "Two"]))

    png = pdf_module.render_pdf_page(path, number=2, width=300)

    with Image.open(io.BytesIO(png)) as image:
        assert image.width == 300 and image.convert("L").getextrema()[0] < 128  # "Two" drawn
    with pytest.raises(ExtractionError, match="no page 3"):
        pdf_module.render_pdf_page(path, number=3, width=300)
