"""Write the demo library's files: what each file says (``outline_for``) and its bytes as a
PDF (reportlab), slide deck (python-pptx) or Word document (python-docx) (``render``).

Contract of ``outline_for(brief)``: the outline's text is specific to the brief's product,
competitor, customer, industry and persona, and contains the brief's ``code_word`` exactly
once, in a short paragraph of its own, so PDF line wrapping never splits it and a search for
it finds this one file.

Contract of ``render(outline, kind)``: it returns the bytes of a complete, valid file of
``kind`` ("pdf", "pptx" or "docx") whose extractable text contains every heading, paragraph
and bullet of the outline. A PDF puts each section on its own page and a deck each section on
its own slide, so multi-section outlines give multi-page files. Decks and Word files carry a
preview picture of their title in the brand's colours, as Office saves one (python-pptx and
python-docx would otherwise ship Office's pure-white default preview).
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass, field

from docx import Document
from PIL import Image
from pptx import Presentation
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus import ListItem as Item

from cms.extraction.thumbnails import title_card

KINDS = ("pdf", "pptx", "docx")
BRAND_RGB = (0.05, 0.42, 0.47)  # Tidewater teal


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outline:
    """A document: a title page (title, subtitle) followed by sections."""

    title: str
    subtitle: str
    author: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    brand: str = ""  # printed on the PDF cover band


def render(outline: Outline, kind: str) -> bytes:
    """The file bytes of ``outline`` as ``kind``; ValueError names an unknown kind."""
    renderers = {"pdf": render_pdf, "pptx": render_pptx, "docx": render_docx}
    if kind not in renderers:
        raise ValueError(f"Unknown demo file kind {kind!r}; expected one of {', '.join(KINDS)}.")
    return renderers[kind](outline)


def render_pdf(outline: Outline) -> bytes:

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=outline.title,
        author=outline.author,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        invariant=1,
    )
    story = [
        Spacer(1, 4 * cm),
        Paragraph(_xml(outline.title), styles["Title"]),
        Paragraph(_xml(outline.subtitle), styles["Heading3"]),
        Paragraph(_xml(outline.author), styles["Normal"]),
    ]
    for section in outline.sections:
        story += [PageBreak(), Paragraph(_xml(section.heading), styles["Heading1"])]
        story += [Paragraph(_xml(text), styles["BodyText"]) for text in section.paragraphs]
        if section.bullets:
            items = [Item(Paragraph(_xml(text), styles["BodyText"])) for text in section.bullets]
            story.append(ListFlowable(items, bulletType="bullet"))
    cover = functools.partial(_pdf_band, height=6 * cm, label=outline.brand)
    later = functools.partial(_pdf_band, height=1.2 * cm, label=outline.title)
    document.build(story, onFirstPage=cover, onLaterPages=later)
    return buffer.getvalue()


def _pdf_band(canvas, document, *, height: float, label: str) -> None:
    """A brand-coloured band across the top of a page (tall on the cover) and a footer."""
    width, page_height = document.pagesize
    canvas.saveState()
    canvas.setFillColorRGB(*BRAND_RGB)
    canvas.rect(0, page_height - height, width, height, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(document.leftMargin, page_height - height + 12, label)
    canvas.setFillColorRGB(0.4, 0.4, 0.4)
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(width - document.rightMargin, 20, f"Page {document.page}")
    canvas.restoreState()


def _xml(text: str) -> str:
    """reportlab paragraphs parse a small XML dialect, so plain text must be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_pptx(outline: Outline) -> bytes:

    presentation = Presentation()
    title_slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    title_slide.shapes.title.text = outline.title
    title_slide.placeholders[1].text = f"{outline.subtitle}\n{outline.author}"
    for section in outline.sections:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = section.heading
        frame = slide.placeholders[1].text_frame
        lines = list(section.paragraphs) + list(section.bullets)
        frame.text = lines[0] if lines else ""
        for line in lines[1:]:
            frame.add_paragraph().text = line
    presentation.core_properties.title = outline.title
    presentation.core_properties.author = outline.author
    buffer = io.BytesIO()
    presentation.save(buffer)
    return _with_preview(buffer.getvalue(), outline, portrait=False)


def render_docx(outline: Outline) -> bytes:

    document = Document()
    document.core_properties.title = outline.title
    document.core_properties.author = outline.author
    document.add_heading(outline.title, level=0)
    document.add_paragraph().add_run(outline.subtitle).italic = True
    for section in outline.sections:
        document.add_heading(section.heading, level=1)
        for text in section.paragraphs:
            document.add_paragraph(text)
        for text in section.bullets:
            document.add_paragraph(text, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return _with_preview(buffer.getvalue(), outline, portrait=True)


PREVIEW = "docProps/thumbnail.jpeg"


def _with_preview(package: bytes, outline: Outline, *, portrait: bool) -> bytes:
    """``package`` with its preview picture (``docProps/thumbnail.jpeg``) replaced by one of
    the outline's title on a band of the brand's colour."""

    band = tuple(round(channel * 255) for channel in BRAND_RGB)
    card = title_card(
        outline.title,
        label=outline.brand.upper() or "DOCUMENT",
        width=256,
        portrait=portrait,
        band=band,
        subtitle=outline.subtitle,
    )
    preview = io.BytesIO()
    Image.open(io.BytesIO(card)).convert("RGB").save(preview, format="JPEG", quality=85)
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = preview.getvalue() if info.filename == PREVIEW else source.read(info)
                target.writestr(info, data)
    return output.getvalue()


# --- What a file says ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFacts:
    name: str
    tagline: str
    edge: str
    features: tuple[str, ...]
    proof: tuple[str, ...]
    specs: tuple[str, ...]
    packaging: str
    savings_pct: int  # share of data-incident firefighting time the product removes


@dataclass(frozen=True)
class RivalFacts:
    name: str
    summary: str
    strengths: tuple[str, ...]
    our_edge: tuple[str, ...]
    landmines: tuple[str, ...]


@dataclass(frozen=True)
class CustomerFacts:
    name: str
    profile: str
    challenge: str
    results: tuple[str, ...]
    quote: str
    speaker: str


@dataclass(frozen=True)
class AudienceFacts:
    """An industry or a persona: who it is and what keeps them up at night."""

    name: str
    concern: str


@dataclass(frozen=True)
class Brief:
    """Everything a generated file may talk about."""

    title: str
    summary: str
    asset_type: str
    code_word: str
    company: str
    owner: str
    product: ProductFacts
    rival: RivalFacts | None = None
    customer: CustomerFacts | None = None
    industry: AudienceFacts | None = None
    persona: AudienceFacts | None = None


FRAMEWORK = (
    "Inventory: list the twenty tables that feed revenue, billing and board reporting.",
    "Expectations: write down freshness, volume and schema expectations for each of them.",
    "Detection: monitor those expectations automatically instead of waiting for a dashboard "
    "user to notice.",
    "Response: route every incident to an owner with the lineage needed to find the cause.",
    "Prevention: turn repeated incidents into data contracts checked before code ships.",
)
GENERIC_QUESTIONS = (
    "How long does the first connection take? (Answer: under an hour for a read-only role.)",
    "Does data leave our cloud? (Answer: only metadata and aggregate statistics do.)",
    "What does a proof of value need from us? (Answer: one pipeline owner, two hours a week.)",
)


def outline_for(brief: Brief) -> Outline:
    """The outline of the file for ``brief``; see the module docstring for its contract."""
    builders = {
        "deck": _deck,
        "battlecard": _battlecard,
        "case-study": _case_study,
        "one-pager": _one_pager,
        "roi-calculator": _roi_calculator,
        "datasheet": _datasheet,
        "whitepaper": _whitepaper,
        "demo-script": _demo_script,
        "email-template": _email_template,
    }
    if brief.asset_type not in builders:
        raise ValueError(f"No file is generated for asset type {brief.asset_type!r}.")
    sections = builders[brief.asset_type](brief) + (_field_notes(brief),)
    return Outline(
        title=brief.title,
        subtitle=brief.summary,
        author=f"{brief.company} marketing, owner {brief.owner}",
        sections=sections,
        brand=brief.company,
    )


def _field_notes(brief: Brief) -> Section:
    return Section(
        "Field notes",
        (
            f"Code word: {brief.code_word}.",
            f"Quote the code word in the enablement channel and {brief.owner} will send the "
            "editable source and the latest numbers.",
        ),
    )


def _audience(brief: Brief) -> str:
    return brief.persona.name if brief.persona else "data leaders"


def _concern(brief: Brief) -> str:
    if brief.industry:
        return brief.industry.concern
    if brief.persona:
        return brief.persona.concern
    return "Broken dashboards cost trust that takes quarters to win back."


def _deck(brief: Brief) -> tuple[Section, ...]:
    product = brief.product
    proof = brief.customer.results if brief.customer else product.proof
    return (
        Section(f"Why {_audience(brief)} care now", (_concern(brief),)),
        Section(f"What {product.name} does", (product.tagline,), product.features),
        Section("What sets us apart", (product.edge,)),
        Section("Proof", (), proof),
        Section(
            "Next steps",
            (),
            (
                "Agree two success criteria with the economic buyer.",
                f"Run a two-week proof of value of {product.name} on one critical pipeline.",
                f"Review the results with {_audience(brief)} and finance together.",
            ),
        ),
    )


def _battlecard(brief: Brief) -> tuple[Section, ...]:
    rival, product = brief.rival, brief.product
    return (
        Section(f"Quick take: {product.name} vs {rival.name}", (rival.summary,)),
        Section(f"Where {rival.name} looks strong", (), rival.strengths),
        Section("Where we win", (), rival.our_edge),
        Section("Landmine questions to ask", (), rival.landmines),
        Section("Proof points", (), product.proof),
    )


def _case_study(brief: Brief) -> tuple[Section, ...]:
    customer, product = brief.customer, brief.product
    return (
        Section(f"About {customer.name}", (customer.profile,)),
        Section("The challenge", (customer.challenge,)),
        Section(f"Why {customer.name} chose {product.name}", (product.edge,), product.features),
        Section("Results", (), customer.results),
        Section("In their words", (f"\u201c{customer.quote}\u201d \u2014 {customer.speaker}",)),
    )


def _one_pager(brief: Brief) -> tuple[Section, ...]:
    points = brief.rival.our_edge if brief.rival else brief.product.features
    proof = brief.customer.results if brief.customer else brief.product.proof
    return (
        Section("In one minute", (brief.summary, brief.product.tagline, _concern(brief))),
        Section("Key points", (), points),
        Section("Proof", (), proof),
    )


def _roi_calculator(brief: Brief) -> tuple[Section, ...]:
    product = brief.product
    engineers, salary, hours = 12, 165_000, 9
    firefighting = engineers * salary * hours // 40
    saved = firefighting * product.savings_pct // 100
    return (
        Section(
            "How to use this worksheet",
            ("Fill in the inputs with the buyer on the call; never send it blank.",),
        ),
        Section(
            "Inputs",
            (),
            (
                "Data engineers on the team: ____",
                "Loaded cost per engineer per year (USD): ____",
                "Hours per engineer per week spent on data incidents: ____",
                "Revenue-affecting data incidents in the last twelve months: ____",
            ),
        ),
        Section(
            "How the return is calculated",
            (
                "Firefighting cost = engineers x loaded cost x incident hours / 40.",
                f"Saving = firefighting cost x {product.savings_pct}%, the median reduction "
                f"{product.name} customers report after six months.",
            ),
        ),
        Section(
            "Worked example",
            (),
            (
                f"{engineers} engineers at ${salary:,} spending {hours} hours a week on incidents",
                f"Firefighting cost: ${firefighting:,} a year",
                f"Saving with {product.name}: ${saved:,} a year",
            ),
        ),
    )


def _datasheet(brief: Brief) -> tuple[Section, ...]:
    product = brief.product
    return (
        Section("Overview", (product.tagline, product.edge)),
        Section("Capabilities", (), product.features),
        Section("Technical specifications", (), product.specs),
        Section("Packaging", (product.packaging,)),
    )


def _whitepaper(brief: Brief) -> tuple[Section, ...]:
    return (
        Section("Executive summary", (brief.summary,)),
        Section("The problem", (_concern(brief),)),
        Section("A five-step framework", (), FRAMEWORK),
        Section("What good looks like", (), brief.product.proof),
        Section(
            "Conclusion",
            (
                f"{brief.company} built {brief.product.name} so that {_audience(brief)} find "
                "out about bad data before their stakeholders do.",
            ),
        ),
    )


def _demo_script(brief: Brief) -> tuple[Section, ...]:
    product = brief.product
    questions = brief.rival.landmines if brief.rival else GENERIC_QUESTIONS
    return (
        Section(
            "Before the demo",
            (),
            (
                "Confirm which pipeline hurt the buyer most last quarter.",
                f"Open the {product.name} sample workspace and reset its incidents.",
            ),
        ),
        Section("Act 1: the pain", (_concern(brief),)),
        Section("Act 2: the moment it clicks", (product.tagline,), product.features),
        Section("Act 3: proof", (), product.proof),
        Section("Questions to expect", (), questions),
    )


def _email_template(brief: Brief) -> tuple[Section, ...]:
    product, audience = brief.product, _audience(brief)
    return (
        Section(
            "Email 1: first touch",
            (
                f"Subject: {audience} and the 6 a.m. broken dashboard",
                f"Hi {{first_name}}, {_concern(brief)} {product.tagline} "
                "Worth 20 minutes next week?",
            ),
        ),
        Section(
            "Email 2: proof",
            (
                f"Subject: how peers cut data incidents with {product.name}",
                f"Hi {{first_name}}, one result worth sharing: {product.proof[0]}",
            ),
        ),
        Section(
            "Email 3: the close",
            (
                "Subject: should I close the loop?",
                "Hi {first_name}, if data reliability is not a priority this quarter, "
                "tell me and I will stop writing. If it is, here is my calendar: {calendar_link}",
            ),
        ),
    )
