"""Files made by the real applications (see fixtures/documents/README.md for their source and
licence) read as a person opening them would see them."""

from __future__ import annotations

from cms.extraction import Limits, extract
from tests.cms.builders import FIXTURES

LIMITS = Limits(ocr_pages=0)


def read(name: str):
    return extract(FIXTURES / name, filename=name, limits=LIMITS)


def test_word_file_made_by_word_reads_header_text_box_tables_japanese_footer_and_footnote():
    text = read("various.docx").text

    positions = [
        text.index(phrase)
        for phrase in (
            "This is the header text.",
            "Here is a text box",
            "Row 2 Col 3",
            "ゾルゲと尾崎、淡々と最期",
            "This is the footer text.",
            "This is a footnote.",
        )
    ]
    assert positions == sorted(positions)


def test_deck_made_by_powerpoint_reads_its_table_text_box_and_footnote_on_its_slide():
    result = read("various.pptx")

    assert result.page_count == 1
    slide = result.pages[0].text
    for phrase in (
        "Row 1 Col 1",
        "Here is a text box",
        "Number bullet 3",
        "[1] This is a footnote.",
    ):
        assert phrase in slide


def test_captions_files_read_as_spoken_lines():
    assert read("webinar.vtt").text.splitlines()[0] == "Everyone wants the most from life"
    assert "On peut écrire avec des accents," in read("captions.srt").text
