"""PowerPoint decks (.pptx, and slideshows, templates and macro-enabled decks): one page of
text per slide, in slide order.

A slide's text is its title first, then every shape in the order of the slide's shape tree
(text, tables, groups, charts, SmartArt, embedded workbooks and documents), then the words its
layout and master draw on it (on the first slide that shows them), then its speaker notes and
its comments (classic and modern). Hidden slides are read too: a rep may unhide them.
"""

from __future__ import annotations

from pathlib import Path

import cms.extraction.ooxml as ooxml
from cms.extraction.base import Extraction, Limits, Page, Parser, paged_extraction, pages_note
from cms.extraction.embedded import embedded_reader, embedded_text
from cms.extraction.thumbnails import embedded_preview, title_card

_TITLE_TYPES = {"title", "ctrTitle"}
_NOTES_SKIPPED = {"sldImg"}  # the picture of the slide on the notes page


def _placeholder_type(shape) -> str | None:
    """The placeholder type of a shape ("body" when it is a placeholder without a type), or
    None when it is not a placeholder."""
    for element in shape.iter():
        if ooxml.local(element.tag) == "ph":
            return element.get("type", "body")
        if ooxml.local(element.tag) in ("txBody", "spPr"):
            break
    return None


class _Slide:
    def __init__(self, package: ooxml.Package, part: str, *, depth: int):
        self.package = package
        self.part = part
        self.depth = depth

    def shapes(self, tree, *, skip_types=frozenset(), static_only: bool = False) -> list[str]:
        """Text of the shapes in ``tree``, in order; ``static_only`` leaves out placeholders
        (on layouts and masters they hold prompts such as "Click to edit Master title style")."""
        texts: list[str] = []
        for shape in tree:
            name = ooxml.local(shape.tag)
            if name == "AlternateContent":
                choice = next((c for c in shape if ooxml.local(c.tag) == "Choice"), None)
                if choice is not None:
                    texts += self.shapes(choice, skip_types=skip_types, static_only=static_only)
            elif name == "grpSp":
                texts += self.shapes(shape, skip_types=skip_types, static_only=static_only)
            elif name == "sp":
                kind = _placeholder_type(shape)
                if kind in skip_types or (static_only and kind is not None):
                    continue
                body = next((c for c in shape if ooxml.local(c.tag) == "txBody"), None)
                texts.append(ooxml.text_body(body))
            elif name == "graphicFrame":
                texts += self._frame(shape)
        return [text for text in texts if text.strip()]

    def _frame(self, frame) -> list[str]:
        table = next((e for e in frame.iter(ooxml.q("a", "tbl"))), None)
        if table is not None:
            rows = []
            for row in table.iter(ooxml.q("a", "tr")):
                cells = [ooxml.text_body(cell) for cell in row.iter(ooxml.q("a", "tc"))]
                rows.append("\t".join(cell for cell in cells if cell.strip()))
            return rows
        return ooxml.graphic_frame_text(self.package, self.part, frame, reader=self._embedded)

    def _embedded(self, package: ooxml.Package, target: str) -> str:
        return embedded_text(package, target, depth=self.depth + 1)

    def text(self, seen_templates: set[str]) -> str:
        root = self.package.xml(self.part)
        if root is None:
            return ""
        tree = _shape_tree(root)
        titles = [] if tree is None else _titles(tree)
        body = [] if tree is None else self.shapes(tree, skip_types=_TITLE_TYPES)
        if root.get("showMasterSp") not in ("0", "false"):
            body += self._template_text(seen_templates)
        return "\n".join(titles + body + self._notes() + self._comments())

    def _template_text(self, seen: set[str]) -> list[str]:
        """Words drawn on the slide by its layout and master (a footer, a tagline), kept once
        per deck: on the first slide that shows them."""
        texts = []
        parts = [rel.target for rel in self.package.rels_of_type(self.part, "/slideLayout")]
        parts += [rel.target for p in parts for rel in self.package.rels_of_type(p, "/slideMaster")]
        for part in parts:
            if part in seen:
                continue
            seen.add(part)
            root = self.package.xml(part)
            tree = None if root is None else _shape_tree(root)
            if tree is not None:
                texts += _Slide(self.package, part, depth=self.depth).shapes(tree, static_only=True)
        return texts

    def _notes(self) -> list[str]:
        for rel in self.package.rels_of_type(self.part, "/notesSlide"):
            root = self.package.xml(rel.target)
            tree = None if root is None else _shape_tree(root)
            if tree is not None:
                notes = _Slide(self.package, rel.target, depth=self.depth)
                return notes.shapes(tree, skip_types=_NOTES_SKIPPED)
        return []

    def _comments(self) -> list[str]:
        texts = []
        for rel in self.package.rels_of_type(self.part, "/comments"):
            root = self.package.xml(rel.target)
            if root is None:
                continue
            for element in root.iter():
                name = ooxml.local(element.tag)
                if name == "text" and element.text:  # classic comments
                    texts.append(element.text)
                elif name == "txBody":  # modern comments and their replies
                    texts.append(ooxml.text_body(element))
        return [text for text in texts if text.strip()]


def _shape_tree(root):
    for element in root.iter():
        if ooxml.local(element.tag) == "spTree":
            return element
    return None


def _titles(tree) -> list[str]:
    titles = []
    for shape in tree.iter():
        if ooxml.local(shape.tag) == "sp" and _placeholder_type(shape) in _TITLE_TYPES:
            body = next((c for c in shape if ooxml.local(c.tag) == "txBody"), None)
            titles.append(ooxml.text_body(body))
    return [title for title in titles if title.strip()]


def slide_parts(package: ooxml.Package) -> list[str]:
    """Part names of the slides in presentation order."""
    main = package.main_part()
    root = package.xml(main)
    if root is None:
        return []
    rels = package.rels(main)
    parts = []
    for slide_id in root.iter():
        if ooxml.local(slide_id.tag) == "sldId":
            rel = rels.get(slide_id.get(ooxml.q("r", "id")) or "")
            if rel and package.has(rel.target):
                parts.append(rel.target)
    return parts


def slides(package: ooxml.Package, *, depth: int = 0) -> tuple[list[Page], int]:
    """One page per slide (up to ``max_pages``) and the number of slides in the deck."""
    parts = slide_parts(package)
    seen_templates: set[str] = set()
    pages = [
        Page(number, _Slide(package, part, depth=depth).text(seen_templates))
        for number, part in enumerate(parts[: package.limits.max_pages], 1)
    ]
    return pages, len(parts)


@embedded_reader("pptx")
def _embedded_pptx(package: ooxml.Package, *, depth: int) -> list[str]:
    return [page.text for page in slides(package, depth=depth)[0]]


class PptxParser(Parser):
    name = "pptx"
    label = "PowerPoint"
    extensions = ("pptx", "pptm", "ppsx", "ppsm", "potx", "potm")

    @classmethod
    def check_signature(cls, filename: str, head: bytes, fileobj) -> None:
        ooxml.check_office_signature(filename, "pptx", head, fileobj)

    @classmethod
    def extract(cls, path: Path, *, filename: str, limits: Limits) -> Extraction:
        package = ooxml.open_office(path, kind="pptx", limits=limits)
        pages, total = slides(package)
        extraction = paged_extraction(pages, limits=limits, page_count=total)
        if total > limits.max_pages:
            extraction.notes.append(pages_note(limits.max_pages, total, "slides"))
        extraction.notes.extend(package.notes())
        width = limits.thumbnail_width
        extraction.thumbnail = embedded_preview(package.thumbnail(), width=width)
        if extraction.thumbnail is None:
            first = pages[0].text.splitlines() if pages else []
            title = next((line for line in first if line.strip()), Path(filename).stem)
            extraction.thumbnail = title_card(title, label="SLIDES", width=width)
        return extraction


PARSER = PptxParser
