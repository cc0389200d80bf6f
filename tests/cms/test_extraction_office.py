"""Word, PowerPoint and Excel: everything a reader sees, in reading order; templates and
slideshows read like the files they are; password-protected, legacy and truncated packages
get true statuses; thumbnails are never blank."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from cms.extraction import ExtractionError, Limits, check_signature, extract
from tests.cms.builders import (
    FIXTURES,
    PPTX_MAIN,
    PPTX_SLIDESHOW,
    PPTX_TEMPLATE,
    WORD_TEMPLATE,
    cut_central_directory,
    declare_size,
    everything_docx,
    everything_pptx,
    everything_xlsx,
    jpeg,
    make_docx,
    make_pptx,
    make_raw_docx,
    make_xlsx,
    p,
    rewrite_zip,
    set_main_content_type,
    write,
)
from tests.cms.test_extraction import assert_not_blank

LIMITS = Limits(ocr_pages=0)


def read(tmp_path, name: str, content: bytes):
    return extract(write(tmp_path, name, content), filename=name, limits=LIMITS)


def in_order(text: str, *phrases: str) -> bool:
    positions = [text.index(phrase) for phrase in phrases]
    return positions == sorted(positions)


# --- Word ---------------------------------------------------------------------------------------


def test_docx_reads_headers_body_footers_footnotes_endnotes_and_comments_in_reading_order(tmp_path):
    text = read(tmp_path, "proposal.docx", everything_docx()).text

    assert in_order(
        text,
        "Header confidential heron",
        "Opening paragraph of the proposal",
        "Footer address pelican",
        "Footnote source cormorant",
        "Endnote remark gannet",
        "Comment reviewer osprey",
    )


def test_docx_reads_text_boxes_once_after_their_anchor_paragraph(tmp_path):
    text = read(tmp_path, "proposal.docx", everything_docx()).text

    assert text.count("Textbox callout saffron") == 1  # not again from the VML fallback copy
    assert in_order(text, "Anchor paragraph", "Textbox callout saffron", "Content control")


def test_docx_reads_content_controls_and_tables_nested_in_cells(tmp_path):
    text = read(tmp_path, "proposal.docx", everything_docx()).text

    assert "Content control umbrella" in text
    assert in_order(text, "Outer cell walnut", "Nested cell juniper")


def test_docx_reads_tracked_insertions_but_not_deletions_nor_field_codes(tmp_path):
    text = read(tmp_path, "proposal.docx", everything_docx()).text

    assert "We offer inserted clause marigold" in text
    assert "field result lilac" in text
    assert "hemlock" not in text and "fieldcode" not in text


def test_word_template_is_read_like_a_document(tmp_path):
    template = everything_docx(main_type=WORD_TEMPLATE)

    for name in ("proposal.dotx", "saved-as.docx"):
        assert "Opening paragraph of the proposal" in read(tmp_path, name, template).text


def test_docx_uses_its_embedded_preview_as_thumbnail(tmp_path):
    content = rewrite_zip(
        make_docx(["Brief"]), add={"docProps/thumbnail.jpeg": jpeg((0, 128, 0), (200, 260))}
    )

    thumbnail = read(tmp_path, "brief.docx", content).thumbnail

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.width == 400
        red, green, blue = image.convert("RGB").getpixel((200, 200))
    assert green > 100 and red < 30 and blue < 30


def test_docx_with_a_blank_preview_gets_a_title_card_instead(tmp_path):
    # python-docx's default template carries Office's pure-white preview.
    thumbnail = read(tmp_path, "brief.docx", make_docx(["Battlecard: Initech"])).thumbnail

    assert_not_blank(thumbnail)


# --- PowerPoint -----------------------------------------------------------------------------------


def test_pptx_slide_title_comes_first_then_shapes_charts_and_notes(tmp_path):
    first = read(tmp_path, "pitch.pptx", everything_pptx()).pages[0]

    assert first.number == 1
    assert first.text.splitlines()[0] == "Quarterly pitch"
    assert in_order(
        first.text,
        "Quarterly pitch",
        "Textbox before the title",
        "Pipeline by territory",  # the chart's title, series and categories
        "Revenue growth",
        "North region",
        "Say the price last",  # speaker notes close the slide's page
    )


def test_pptx_reads_smartart_comments_and_embedded_workbooks_on_their_slide(tmp_path):
    second = read(tmp_path, "pitch.pptx", everything_pptx()).pages[1]

    assert second.number == 2
    for phrase in (
        "Kickoff workshop",
        "Pilot rollout",
        "Embedded price sheet",
        "Gold tier",
        "Check the pilot dates",
        "Modern comment about pricing",
    ):
        assert phrase in second.text


@pytest.mark.parametrize(
    ("name", "content_type"), [("show.pptx", PPTX_SLIDESHOW), ("t.potx", PPTX_TEMPLATE)]
)
def test_slideshows_and_templates_are_read_like_decks(tmp_path, name, content_type):
    content = set_main_content_type(
        make_pptx([("Renewal playbook", "Step one")]), PPTX_MAIN, content_type
    )

    result = read(tmp_path, name, content)

    assert result.page_count == 1 and "Renewal playbook" in result.text


def test_deck_keeps_its_own_preview_as_thumbnail(tmp_path):
    content = rewrite_zip(
        make_pptx([("Title", "Body")]), add={"docProps/thumbnail.jpeg": jpeg((0, 128, 0))}
    )

    thumbnail = read(tmp_path, "d.pptx", content).thumbnail

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.size == (400, 225)
        red, green, blue = image.convert("RGB").getpixel((200, 112))
    assert green > 100 and red < 30 and blue < 30


def test_deck_with_a_blank_or_missing_preview_gets_a_title_card(tmp_path):
    blank = make_pptx([("Q3 launch", "Body")])  # python-pptx ships a pure-white preview
    missing = rewrite_zip(blank, drop={"docProps/thumbnail.jpeg"})

    for content in (blank, missing):
        thumbnail = read(tmp_path, "d.pptx", content).thumbnail
        assert_not_blank(thumbnail)
        with Image.open(io.BytesIO(thumbnail)) as image:
            assert image.size == (400, 225)


# --- Excel --------------------------------------------------------------------------------------


def test_xlsx_reads_sheet_names_cells_cached_results_header_comments_and_charts(tmp_path):
    text = read(tmp_path, "prices.xlsx", everything_xlsx()).text

    assert in_order(
        text, "Price list", "Confidential pricing", "Tier\tSeats\tPrice", "Starter\t10\t990"
    )
    assert "Enterprise\t500\t45000" in text
    assert "Cached formula result" in text  # the value Excel last calculated, not the formula
    assert "CONCAT" not in text
    assert "Starter excludes onboarding" in text  # a cell comment
    assert "Seats per tier" in text  # the chart's title
    assert in_order(text, "Price list", "ROI inputs", "Engineers\t12")


def _dated_workbook(*, date1904: bool = False) -> bytes:
    """Dates, a time, a duration and plain numbers, as Excel stores them: serial numbers whose
    cell style says how they are shown."""
    from datetime import date, datetime, time

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    sheet = workbook.active
    sheet.append(["Renewal", date(2024, 3, 15)])
    sheet.append(["Kick-off", datetime(2025, 1, 6, 9, 30)])
    sheet.append(["Call at", time(14, 45)])
    sheet.append(["Seats", 45366])
    sheet.append(["Hours logged", 1.5])
    sheet["B5"].number_format = "[h]:mm"
    sheet.append(["Early", date(1900, 2, 28)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("date1904", [False, True], ids=["1900 dates", "1904 dates"])
def test_xlsx_shows_dates_as_dates_not_serial_numbers(tmp_path, date1904):
    text = read(tmp_path, "renewals.xlsx", _dated_workbook(date1904=date1904)).text

    assert "Renewal\t2024-03-15" in text
    assert "Kick-off\t2025-01-06 09:30" in text
    assert "Call at\t14:45" in text
    assert "Seats\t45366" in text  # a number in a number format stays a number
    assert "Hours logged\t1.5" in text  # a duration is not a date
    if not date1904:
        assert "Early\t1900-02-28" in text  # before Excel's phantom 29 February 1900


def test_xlsx_whose_style_and_string_numbers_are_not_numbers_still_reads(tmp_path):
    """ "²" passes str.isdigit but int() refuses it; so does a number of 5000 digits."""
    odd = "²".encode()
    huge = b"9" * 5000

    def sheet(xml: bytes) -> bytes:
        xml = xml.replace(b'<c r="B1" t="n">', b'<c r="B1" t="n" s="' + odd + b'">')
        xml = xml.replace(
            b'<c r="B2" t="inlineStr"><is><t>Acme</t></is></c>',
            b'<c r="B2" t="s"><v>' + huge + b"</v></c>",
        )
        return xml.replace(
            b'<c r="B3" t="inlineStr"><is><t>x</t></is></c>',
            b'<c r="B3" t="s"><v>' + odd + b"</v></c>",
        )

    def styles(xml: bytes) -> bytes:
        return xml.replace(
            b'<cellXfs count="1"><xf numFmtId="0"',
            b'<cellXfs count="1"><xf numFmtId="' + odd + b'"',
        )

    workbook = make_xlsx([["Seats", 45], ["Name", "Acme"], ["Other", "x"]])
    damaged = rewrite_zip(
        workbook, replace={"xl/worksheets/sheet1.xml": sheet, "xl/styles.xml": styles}
    )
    with zipfile.ZipFile(io.BytesIO(damaged)) as package:
        changed = package.read("xl/worksheets/sheet1.xml") + package.read("xl/styles.xml")
    assert changed.count(odd) == 3 and huge in changed

    text = read(tmp_path, "odd.xlsx", damaged).text

    assert "Seats\t45" in text and "Name" in text and "Other" in text


# --- Protected, legacy and damaged packages --------------------------------------------------


@pytest.mark.parametrize(
    "name", ["protected-word.docx", "protected-deck.pptx", "protected-workbook.xlsx"]
)
def test_password_protected_office_file_says_so_with_protected_status(tmp_path, name):
    content = (FIXTURES / name).read_bytes()
    label = {"docx": "Word", "pptx": "PowerPoint", "xlsx": "Excel"}[name.rsplit(".", 1)[1]]

    with pytest.raises(ExtractionError, match=f"{label} file is protected by a password") as error:
        read(tmp_path, name, content)

    assert error.value.status == "protected"


def test_older_binary_file_renamed_to_docx_is_named_as_such(tmp_path):
    legacy = (FIXTURES / "legacy.doc").read_bytes()

    with pytest.raises(ExtractionError, match=r"older Word file \(\.doc\) saved under the \.docx"):
        read(tmp_path, "renamed.docx", legacy)


def test_older_binary_file_renamed_to_docx_is_refused_at_upload_in_one_sentence():
    legacy = (FIXTURES / "legacy.doc").read_bytes()

    with pytest.raises(ExtractionError) as error:
        check_signature("renamed.docx", io.BytesIO(legacy))

    assert str(error.value) == (
        "“renamed.docx” is an older Word file (.doc) saved under the .docx extension; "
        "save it as .docx in Word and upload it again."
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "brief.doc",
            make_docx(["Modern words"]),
            "“brief.doc” is a Word file in the newer format (.docx, Word 2007 and later) saved "
            "under the .doc extension; rename it to .docx and upload it again.",
        ),
        (
            "deck.ppt",
            make_pptx([("Title", "Body")]),
            "“deck.ppt” is a PowerPoint file in the newer format (.pptx, PowerPoint 2007 and "
            "later) saved under the .ppt extension; rename it to .pptx and upload it again.",
        ),
        (
            "model.xls",
            make_xlsx([["a"]]),
            "“model.xls” is an Excel file in the newer format (.xlsx, Excel 2007 and later) "
            "saved under the .xls extension; rename it to .xlsx and upload it again.",
        ),
    ],
)
def test_modern_office_file_under_its_older_extension_says_what_it_is(name, content, message):
    with pytest.raises(ExtractionError) as error:
        check_signature(name, io.BytesIO(content))

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("old.doc", "“old.doc” is not a Word file: it does not start like one."),
        ("old.ppt", "“old.ppt” is not a PowerPoint file: it does not start like one."),
        ("old.xls", "“old.xls” is not an Excel file: it does not start like one."),
        ("old.rtf", "“old.rtf” is not an RTF file: it does not start like one."),
        ("old.msg", "“old.msg” is not an Outlook message file: it does not start like one."),
    ],
)
def test_refusal_of_a_renamed_legacy_file_is_grammatical(name, message):
    with pytest.raises(ExtractionError) as error:
        check_signature(name, io.BytesIO(b"%PDF-1.4 not this format"))

    assert str(error.value) == message


def _theme_package() -> bytes:
    """The parts of an Office theme (.thmx): a theme as the main part and no document."""
    main = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            'formats-package.relationships+xml"/><Override PartName="/theme/theme/theme1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{main}" '
            'Target="theme/theme/theme1.xml"/></Relationships>',
        )
        archive.writestr(
            "theme/theme/theme1.xml",
            '<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'name="Brand"/>',
        )
    return buffer.getvalue()


def test_office_theme_renamed_to_docx_says_it_is_a_theme_not_that_it_is_damaged(tmp_path):
    with pytest.raises(ExtractionError, match="is an Office theme .* not a Word document"):
        read(tmp_path, "brand.docx", _theme_package())


def test_truncated_package_is_recovered_and_says_it_was_incomplete(tmp_path):
    content = cut_central_directory(make_docx(["The part before the cut", "still readable"]))

    result = read(tmp_path, "cut.docx", content)

    assert "The part before the cut\nstill readable" in result.text
    assert "incomplete" in result.notes[0]


def _with_doctype(doctype: str, body: str) -> bytes:
    """A Word file whose document part starts with ``doctype`` (Office never writes one)."""
    package = make_raw_docx(p(body))
    return rewrite_zip(
        package,
        replace={"word/document.xml": lambda xml: doctype.encode() + xml},
    )


def test_entities_are_neither_expanded_nor_followed_and_the_text_after_them_is_kept(tmp_path):
    laughs = "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n else "lol"}">' for n in range(10)
    )
    bomb = _with_doctype(f"<!DOCTYPE w:document [{laughs}]>", "Laughs &lol9; Billionword")
    probe = _with_doctype(
        '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "XXE probe &xxe; Xxeword",
    )

    assert " ".join(read(tmp_path, "laughs.docx", bomb).text.split()) == "Laughs Billionword"
    probed = read(tmp_path, "probe.docx", probe).text
    assert " ".join(probed.split()) == "XXE probe Xxeword"
    assert "root:" not in probed


def test_a_part_longer_than_the_zip_says_is_named_as_damaged(tmp_path):
    """Sizes patched to hide a large part: what the zip says is all that is read, and the
    note names the part, rather than "Processed" with the body silently gone."""
    package = make_raw_docx(p("Body text " * 2000), parts={"footer1.xml": p("Footer kept")})
    forged = declare_size(package, "word/document.xml", 1000)

    result = read(tmp_path, "forged.docx", forged)

    assert "Footer kept" in result.text
    assert result.notes == [
        "The file is damaged: part “word/document.xml” does not match the size or checksum "
        "the file gives for it, so its text may be missing or cut short."
    ]
    assert read(tmp_path, "whole.docx", package).notes == []


def test_truncated_deck_is_recovered_slide_by_slide(tmp_path):
    content = cut_central_directory(make_pptx([("First slide", "a"), ("Second slide", "b")]))

    result = read(tmp_path, "cut.pptx", content)

    assert [page.text.splitlines()[0] for page in result.pages] == ["First slide", "Second slide"]
    assert "incomplete" in result.notes[-1]


def test_package_cut_before_its_text_fails_saying_nothing_could_be_recovered(tmp_path):
    content = make_docx(["Lost"])
    cut = content[: content.index(b"word/document.xml") + 40]

    with pytest.raises(ExtractionError, match="incomplete .* none of its text could be recovered"):
        read(tmp_path, "cut.docx", cut)


def test_docx_reads_content_pasted_in_as_html_and_east_asian_readings(tmp_path):
    body = (
        p("Before the chunk")
        + '<w:altChunk r:id="rIdHtml"/>'
        + "<w:p><w:ruby><w:rt><w:r><w:t>とうきょう</w:t></w:r></w:rt>"
        + "<w:rubyBase><w:r><w:t>東京</w:t></w:r></w:rubyBase></w:ruby></w:p>"
    )
    chunk = "<html><body><p>Prix réduit pour l’équipe</p><table><tr><td>Gold</td></tr></table>"
    content = rewrite_zip(
        make_raw_docx(body),
        add={"word/chunk.htm": (chunk + "</body></html>").encode()},
        replace={
            "word/_rels/document.xml.rels": lambda xml: xml.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdHtml" Target="chunk.htm" Type="http://schemas.'
                b'openxmlformats.org/officeDocument/2006/relationships/aFChunk"/></Relationships>',
            )
        },
    )

    text = read(tmp_path, "chunk.docx", content).text

    assert in_order(
        text, "Before the chunk", "Prix réduit pour l’équipe", "Gold", "東京 (とうきょう)"
    )
