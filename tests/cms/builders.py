"""Real files built for the document tests: PDFs (reportlab), decks (python-pptx), Word and
Excel packages (python-docx, openpyxl, or their XML written out by hand when a test needs a
structure those libraries cannot make: footnotes, text boxes, tracked changes, SmartArt...).
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FIXTURES = Path(__file__).parent / "fixtures" / "documents"

# --- PDF ---------------------------------------------------------------------------------------


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


def make_form_pdf() -> bytes:
    """Page 1: a sentence and a sticky-note comment; page 2: a filled-in text field."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "Order form for enterprise licences")
    pdf.textAnnotation("Reviewer note: confirm the discount", Rect=(72, 600, 200, 650))
    pdf.showPage()
    pdf.drawString(72, 720, "Customer details")
    pdf.acroForm.textfield(
        name="customer",
        tooltip="Customer name",
        value="Initech Holdings",
        x=72,
        y=600,
        width=300,
        height=20,
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def text_image(lines: list[str], *, size: tuple[int, int] = (1700, 2200)) -> Image.Image:
    """A white page with large black text: what a scanner gives."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=64)
    for number, line in enumerate(lines):
        draw.text((120, 200 + number * 110), line, fill=0, font=font)
    return image


def make_scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages are only pictures of text (no text layer)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(612, 792))
    for lines in pages:
        pdf.drawImage(ImageReader(text_image(lines)), 0, 0, width=612, height=792)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_pdf_with_white_cover(text: str) -> bytes:
    """Page 1 is blank; page 2 has the content."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.showPage()
    pdf.setFont("Helvetica-Bold", 28)
    pdf.drawString(72, 700, text)
    pdf.rect(72, 300, 400, 300, fill=1)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def without_xref(pdf: bytes) -> bytes:
    """The same PDF without its cross-reference table and trailer (as some tools write)."""
    return pdf[: pdf.rindex(b"xref")] + b"%%EOF\n"


def make_pdf_mapping_to_lone_surrogate() -> bytes:
    """A one-page PDF whose font maps a glyph to half a surrogate pair (a broken ToUnicode map,
    as seen in the wild): a text extractor gets the string "Price " + U+D800 + " list"."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
        b"/CMapName /Broken def 1 begincodespacerange <00> <FF> endcodespacerange "
        b"1 beginbfchar <58> <D800> endbfchar endcmap CMapName currentdict /CMap defineresource "
        b"pop end end"
    )
    content = b"BT /F1 24 Tf 72 700 Td (Price X list) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
    ]
    return _pdf_from_objects(objects)


def _pdf_from_objects(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


# --- Zip packages ------------------------------------------------------------------------------


def rewrite_zip(
    data: bytes, *, drop=(), add: dict[str, bytes] | None = None, replace=None
) -> bytes:
    """Copy a zip, dropping, adding and replacing members (deflated). ``replace`` maps a
    member to a function of its bytes."""
    output = io.BytesIO()
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename in drop or info.filename in (add or {}):
                    continue
                content = source.read(info)
                if info.filename in replace:
                    content = replace[info.filename](content)
                target.writestr(info, content)
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


def cut_central_directory(data: bytes) -> bytes:
    """A zip cut off before its central directory (an interrupted download or copy)."""
    return data[: data.index(b"PK\x01\x02")]


def set_main_content_type(data: bytes, old: str, new: str) -> bytes:
    """Save a package as another variant (template, slideshow) by its main part's type."""
    return rewrite_zip(
        data, replace={"[Content_Types].xml": lambda xml: xml.replace(old.encode(), new.encode())}
    )


def zip_bomb_docx() -> bytes:
    """A real DOCX plus a part that declares 3.5 GB (a lying header) and is only a few bytes."""
    bomb = rewrite_zip(make_docx(["Looks harmless"]), add={"word/media/bomb.bin": b"\0" * 1024})
    return declare_size(bomb, "word/media/bomb.bin", 3_500_000_000)


def jpeg(colour: tuple[int, int, int], size=(256, 144)) -> bytes:
    """A preview picture: ``colour`` with a black bar across the top (not one flat colour)."""
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle((0, 0, size[0], size[1] // 8), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


# --- Word ----------------------------------------------------------------------------------------


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


W_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
WORD_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
WORD_PARTS = {  # part -> (relationship type, content type, root element)
    "header1.xml": ("header", "header+xml", "hdr"),
    "footer1.xml": ("footer", "footer+xml", "ftr"),
    "footnotes.xml": ("footnotes", "footnotes+xml", "footnotes"),
    "endnotes.xml": ("endnotes", "endnotes+xml", "endnotes"),
    "comments.xml": ("comments", "comments+xml", "comments"),
}


def p(text: str) -> str:
    return f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def make_raw_docx(
    body: str, *, parts: dict[str, str] | None = None, main_type=WORD_DOCUMENT
) -> bytes:
    """A Word package whose body XML (inside ``w:body``) and other parts' content (inside their
    root element; keys from ``WORD_PARTS``) are given."""
    parts = parts or {}
    overrides = [f'<Override PartName="/word/document.xml" ContentType="{main_type}"/>']
    rels = []
    files = {}
    for number, (name, content) in enumerate(parts.items(), 1):
        rel_type, content_type, root = WORD_PARTS[name]
        overrides.append(f'<Override PartName="/word/{name}" ContentType="{_WML}{content_type}"/>')
        rels.append(f'<Relationship Id="rId{number}" Type="{_REL}{rel_type}" Target="{name}"/>')
        files[f"word/{name}"] = f"<w:{root} {W_NS}>{content}</w:{root}>"
    files["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>"
    )
    files["_rels/.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}officeDocument" Target="word/document.xml"/>'
        "</Relationships>"
    )
    files["word/_rels/document.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels)
        + "</Relationships>"
    )
    files["word/document.xml"] = f"<w:document {W_NS}><w:body>{body}</w:body></w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("[Content_Types].xml", "_rels/.rels", "word/document.xml"):
            archive.writestr(name, files.pop(name))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def text_box(text: str) -> str:
    """A text box as Word 2010+ writes it: a DrawingML shape, with a VML copy as fallback."""
    content = f"<w:txbxContent>{p(text)}</w:txbxContent>"
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f"<wps:wsp><wps:txbx>{content}</wps:txbx></wps:wsp>"
        "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{content}</v:textbox></v:shape></w:pict>"
        "</mc:Fallback></mc:AlternateContent></w:r>"
    )


def everything_docx(main_type: str = WORD_DOCUMENT) -> bytes:
    """A Word file with a word in each place a reader may look."""
    body = (
        p("Opening paragraph of the proposal")
        + f"<w:p><w:r><w:t>Anchor paragraph</w:t></w:r>{text_box('Textbox callout saffron')}</w:p>"
        + '<w:sdt><w:sdtPr><w:alias w:val="Customer"/></w:sdtPr><w:sdtContent>'
        + p("Content control umbrella")
        + "</w:sdtContent></w:sdt>"
        + "<w:tbl><w:tr><w:tc>"
        + p("Outer cell walnut")
        + "<w:tbl><w:tr><w:tc>"
        + p("Nested cell juniper")
        + "</w:tc></w:tr></w:tbl>"
        + p("")
        + "</w:tc></w:tr></w:tbl>"
        + '<w:p><w:r><w:t xml:space="preserve">We offer </w:t></w:r>'
        + '<w:ins w:id="1" w:author="Ann"><w:r><w:t>inserted clause marigold</w:t></w:r></w:ins>'
        + '<w:del w:id="2" w:author="Ann">'
        + "<w:r><w:delText>deleted clause hemlock</w:delText></w:r></w:del>"
        + '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + '<w:r><w:instrText> HYPERLINK "http://example.com/fieldcode" </w:instrText></w:r>'
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>field result lilac</w:t></w:r>'
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        + '<w:r><w:footnoteReference w:id="1"/></w:r></w:p>'
    )
    parts = {
        "header1.xml": p("Header confidential heron"),
        "footer1.xml": p("Footer address pelican"),
        "footnotes.xml": '<w:footnote w:type="separator" w:id="-1">'
        + "<w:p><w:r><w:separator/></w:r></w:p></w:footnote>"
        + '<w:footnote w:id="1">'
        + p("Footnote source cormorant")
        + "</w:footnote>",
        "endnotes.xml": '<w:endnote w:id="1">' + p("Endnote remark gannet") + "</w:endnote>",
        "comments.xml": '<w:comment w:id="0" w:author="Bo">'
        + p("Comment reviewer osprey")
        + "</w:comment>",
    }
    return make_raw_docx(body, parts=parts, main_type=main_type)


# --- PowerPoint -----------------------------------------------------------------------------------


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


DGM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
PPTX_SLIDESHOW = "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml"
PPTX_TEMPLATE = "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"
PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def make_xlsx(rows: list[list], *, sheet: str = "Prices") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def everything_pptx() -> bytes:
    """Slide 1: a text box drawn before the title, a chart, notes. Slide 2: a SmartArt diagram,
    a classic comment and a modern one, an embedded workbook."""
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.enum.shapes import PROG_ID
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI
    from pptx.oxml import parse_xml
    from pptx.util import Inches

    presentation = Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    box = first.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1))
    box.text = "Textbox before the title"
    first.shapes._spTree.remove(box._element)
    first.shapes._spTree.insert(2, box._element)  # first in the shape tree
    first.shapes.title.text = "Quarterly pitch"
    data = CategoryChartData()
    data.categories = ["North region", "South region"]
    data.add_series("Revenue growth", (1.5, 2.5))
    chart = first.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Pipeline by territory"
    first.notes_slide.notes_text_frame.text = "Say the price last"

    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    second.shapes.title.text = "How onboarding works"
    package = presentation.part.package
    diagram = Part(
        PackURI("/ppt/diagrams/data1.xml"),
        "application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml",
        package,
        (
            f'<dgm:dataModel xmlns:dgm="{DGM}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            "<dgm:ptLst>"
            '<dgm:pt modelId="1" type="doc"><dgm:t><a:p/></dgm:t></dgm:pt>'
            '<dgm:pt modelId="2"><dgm:t><a:p><a:r><a:t>Kickoff workshop</a:t></a:r></a:p>'
            "</dgm:t></dgm:pt>"
            '<dgm:pt modelId="3"><dgm:t><a:p><a:r><a:t>Pilot rollout</a:t></a:r></a:p>'
            "</dgm:t></dgm:pt>"
            "</dgm:ptLst></dgm:dataModel>"
        ).encode(),
    )
    diagram_rel = second.part.relate_to(diagram, RT.DIAGRAM_DATA)
    second.shapes._spTree.append(
        parse_xml(
            '<p:graphicFrame xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<p:nvGraphicFramePr><p:cNvPr id="90" name="Diagram"/><p:cNvGraphicFramePr/><p:nvPr/>'
            '</p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="1" cy="1"/></p:xfrm>'
            f'<a:graphic><a:graphicData uri="{DGM}"><dgm:relIds xmlns:dgm="{DGM}" '
            f'r:dm="{diagram_rel}" r:lo="" r:qs="" r:cs=""/></a:graphicData></a:graphic>'
            "</p:graphicFrame>"
        )
    )
    classic = Part(
        PackURI("/ppt/comments/comment1.xml"),
        "application/vnd.openxmlformats-officedocument.presentationml.comments+xml",
        package,
        b'<p:cmLst xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">'
        b'<p:cm authorId="0" idx="1"><p:pos x="10" y="10"/><p:text>Check the pilot dates</p:text>'
        b"</p:cm></p:cmLst>",
    )
    second.part.relate_to(classic, RT.COMMENTS)
    modern = Part(
        PackURI("/ppt/comments/modernComment_1.xml"),
        "application/vnd.ms-powerpoint.comments+xml",
        package,
        b'<p188:cmLst xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/main" '
        b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p188:cm id="{1}">'
        b"<p188:txBody><a:p><a:r><a:t>Modern comment about pricing</a:t></a:r></a:p></p188:txBody>"
        b"</p188:cm></p188:cmLst>",
    )
    second.part.relate_to(
        modern, "http://schemas.microsoft.com/office/2018/10/relationships/comments"
    )
    workbook = make_xlsx([["Embedded price sheet"], ["Gold tier", 1200]])
    second.shapes.add_ole_object(io.BytesIO(workbook), PROG_ID.XLSX, Inches(1), Inches(5))
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


# --- Excel -----------------------------------------------------------------------------------


def everything_xlsx() -> bytes:
    """Two sheets: text, numbers, a formula's cached result, a comment, a header and a chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment

    workbook = Workbook()
    prices = workbook.active
    prices.title = "Price list"
    prices.append(["Tier", "Seats", "Price"])
    prices.append(["Starter", 10, 990])
    prices.append(["Enterprise", 500, 45000])
    prices["A5"] = "=CONCAT(A2,A3)"
    prices["A2"].comment = Comment("Starter excludes onboarding", "Ann")
    prices.oddHeader.center.text = "Confidential pricing"
    chart = BarChart()
    chart.title = "Seats per tier"
    chart.add_data(Reference(prices, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    chart.set_categories(Reference(prices, min_col=1, min_row=2, max_row=3))
    prices.add_chart(chart, "E2")
    roi = workbook.create_sheet("ROI inputs")
    roi.append(["Engineers", 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl writes formulas without results; give this one the result Excel would cache.
    return rewrite_zip(
        buffer.getvalue(),
        replace={
            "xl/worksheets/sheet1.xml": lambda xml: xml.replace(
                b"<f>CONCAT(A2,A3)</f><v></v>", b"<f>CONCAT(A2,A3)</f><v>StarterEnterprise</v>"
            ).replace(
                b'<c r="A5"><f>CONCAT(A2,A3)</f>',
                b'<c r="A5" t="str"><f>CONCAT(A2,A3)</f><v>Cached formula result</v>',
            )
        },
    )


def make_png(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path
