"""Office Open XML packages (DOCX, PPTX, XLSX) read safely: zip-bomb checks, password and
legacy-format detection, recovery of truncated zips, relationships, and the DrawingML pieces
(text bodies, charts, SmartArt) that Word, PowerPoint and Excel share.

The format modules parse the XML themselves instead of going through python-docx/python-pptx,
so that templates and slideshows (whose main part has another content type) read like
documents and decks, and so that nothing a reader sees (text boxes, charts...) is skipped.

Zip bombs: before any part is unpacked, every part's declared size is checked (see
``Limits``); only XML parts, relationships, previews and embedded files are ever unpacked, and
their declared sizes together must stay within ``max_unzipped_bytes`` (XML parts count when the
package opens, a preview or embedded file when it is read, and is skipped when it would not
fit). Python's zipfile never unpacks more than a part declares, so the declared sizes bound the
memory used. Pictures, audio and video are never unpacked.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from cms.extraction.base import (
    MB,
    ExtractionError,
    Limits,
    extension_of,
    incomplete_note,
    password_error,
    with_article,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
NESTED_SUFFIXES = (".zip", ".docx", ".pptx", ".xlsx", ".docm", ".pptm", ".xlsm", ".xltx", ".dotx")
OFFICE_DOCUMENT = "/officeDocument"  # the end of the root relationship type of the main part
KIND_MARKERS = {
    "docx": ("wordprocessingml", "ms-word"),
    "pptx": ("presentationml", "ms-powerpoint"),
    "xlsx": ("spreadsheetml", "ms-excel"),
}
KIND_LABELS = {"docx": "Word", "pptx": "PowerPoint", "xlsx": "Excel"}
LEGACY_EXTENSIONS = {"docx": "doc", "pptx": "ppt", "xlsx": "xls"}

NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "cx": "http://schemas.microsoft.com/office/drawing/2014/chartex",
    "dgm": "http://schemas.openxmlformats.org/drawingml/2006/diagram",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}


def q(prefix: str, name: str) -> str:
    """Clark notation for ``prefix:name``: ``q("a", "t")`` -> ``{http://...}t``."""
    return f"{{{NS[prefix]}}}{name}"


def local(tag) -> str:
    """An element's name without its namespace ("" for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str  # a part name inside the package (no leading slash)


def _is_unpacked(name: str) -> bool:
    """Parts the readers always unpack: XML and relationships (counted when a package opens)."""
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _may_be_read(name: str) -> bool:
    """Parts the readers may unpack: the above, previews and embedded files (counted when read)."""
    lowered = name.lower()
    return (
        _is_unpacked(name)
        or lowered.startswith("docprops/thumbnail.")
        or "/embeddings/" in lowered
        or lowered.endswith(NESTED_SUFFIXES)
    )


def _bomb(message: str) -> ExtractionError:
    return ExtractionError(f"{message}, so the file was not opened (it looks like a zip bomb).")


def check_part(name: str, size: int, compressed: int, limits: Limits) -> None:
    """Refuse a part whose declared size is absurd, absolutely or for its compressed size."""
    if size > limits.max_part_bytes:
        raise _bomb(
            f"Part “{name}” would unpack to {size / MB:,.0f} MB, more than the "
            f"{limits.max_part_bytes // MB} MB allowed for one part"
        )
    ratio = size / max(compressed, 1)
    if size > limits.ratio_floor_bytes and ratio > limits.max_zip_ratio:
        raise _bomb(
            f"Part “{name}” is compressed {ratio:,.0f} to 1, beyond the "
            f"{limits.max_zip_ratio} to 1 allowed"
        )


class Package:
    """A zip package whose parts are read within ``limits``.

    ``unpacked`` is shared with the packages nested inside it (a list of one counter), so an
    embedded workbook spends the same budget as the deck around it. A zip whose directory is
    missing (a truncated download) is recovered from its local headers; ``recovered`` is then
    True and XML is parsed leniently.
    """

    def __init__(self, source, *, limits: Limits, unpacked: list[int] | None = None):
        self.limits = limits
        self.unpacked = unpacked if unpacked is not None else [0]
        self.recovered = False
        # Parts that could not be read whole: their size or checksum does not match what the
        # zip says of them (a damaged or forged file). What could be read is used.
        self.damaged: list[str] = []
        self._zip: zipfile.ZipFile | None = None
        self._recovered_parts: dict[str, bytes] = {}
        try:
            self._zip = zipfile.ZipFile(source)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
            self._recover(source)
            return
        self._check([(i.filename, i.file_size, i.compress_size) for i in infos])
        self._sizes = {info.filename: info.file_size for info in infos}

    # --- Opening ---------------------------------------------------------------------------

    def _check(self, entries: list[tuple[str, int, int]]) -> None:
        limits = self.limits
        if len(entries) > limits.max_zip_members:
            raise ExtractionError(
                f"The file holds {len(entries)} parts, more than the "
                f"{limits.max_zip_members} allowed."
            )
        unpacked = 0
        for name, size, compressed in entries:
            check_part(name, size, compressed, limits)
            if _is_unpacked(name):
                unpacked += size
        self.unpacked[0] += unpacked
        if self.unpacked[0] > limits.max_unzipped_bytes:
            raise _bomb(
                f"The file would expand to more than {limits.max_unzipped_bytes // MB} MB "
                "when unpacked"
            )

    def _recover(self, source) -> None:
        """Read the parts of a zip without its central directory from their local headers."""
        if hasattr(source, "read"):
            source.seek(0)  # the zip reader left it wherever it gave up
            data = source.read()
        else:
            data = Path(source).read_bytes()
        if not data.startswith(ZIP_MAGIC):
            raise ExtractionError("The file is damaged: it is not a readable Office package (zip).")
        self.recovered = True
        position = 0
        while position >= 0 and len(self._recovered_parts) < self.limits.max_zip_members:
            position = self._recover_one(data, position)
        if not self._recovered_parts:
            raise ExtractionError("The file is damaged: it is not a readable Office package (zip).")
        self._sizes = {name: len(part) for name, part in self._recovered_parts.items()}

    def _recover_one(self, data: bytes, start: int) -> int:
        """Recover the part whose local header starts at ``start``; the next header's offset,
        or -1 when there is none."""
        if len(data) < start + 30:
            return -1
        (_sig, _ver, flags, method, _t, _d, _crc, compressed, size, name_len, extra_len) = (
            struct.unpack_from("<4s5H3L2H", data, start)
        )
        name = data[start + 30 : start + 30 + name_len].decode("utf-8", "replace")
        body = start + 30 + name_len + extra_len
        if flags & 0x8:  # sizes follow the data: we cannot tell where it ends without inflating
            compressed = 0
        chunk = data[body : body + compressed] if compressed else data[body:]
        next_header = data.find(ZIP_MAGIC, body + compressed)  # > start: progress
        if flags & 0x1 or method not in (0, 8) or not _may_be_read(name):
            return next_header
        if method == 0:
            part = chunk if compressed else b""
        else:
            part = self._inflate(chunk, name, compressed)
        if part:
            self.unpacked[0] += len(part)
            if self.unpacked[0] > self.limits.max_unzipped_bytes:
                raise _bomb(
                    f"The file would expand to more than {self.limits.max_unzipped_bytes // MB} "
                    "MB when unpacked"
                )
            self._recovered_parts[name] = part
        return next_header

    def _inflate(self, chunk: bytes, name: str, compressed: int) -> bytes:
        inflater = zlib.decompressobj(-15)
        try:
            part = inflater.decompress(chunk, self.limits.max_part_bytes + 1)
        except zlib.error:
            return b""
        check_part(name, len(part), compressed or len(chunk), self.limits)
        return part

    # --- Reading ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._sizes)

    def has(self, name: str) -> bool:
        return name in self._sizes

    def read(self, name: str) -> bytes:
        """The bytes of part ``name`` (KeyError when absent); b"" when it cannot be read."""
        if self.recovered:
            return self._recovered_parts[name]
        info = self._zip.getinfo(name)
        try:
            with self._zip.open(info) as handle:
                data = handle.read(info.file_size + 1)
                if len(data) > info.file_size:  # longer than the zip says: read no further
                    self._damaged(name)
                    return data[: info.file_size]
                handle.read(1)  # at the end: the checksum is compared
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError):
            self._damaged(name)
            return b""
        return data

    def _damaged(self, name: str) -> None:
        if name not in self.damaged:
            self.damaged.append(name)

    def xml(self, name: str):
        """Part ``name`` parsed as XML, or None when it is missing or not XML."""
        from lxml import etree

        if not name or not self.has(name):
            return None
        data = _without_doctype(self.read(name))
        if not data:
            return None
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            remove_comments=True,
            remove_pis=True,
            recover=self.recovered,
        )
        try:
            return _without_entities(etree.fromstring(data, parser))
        except (etree.XMLSyntaxError, ValueError):
            if self.recovered:
                return None
            lenient = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
            try:
                return _without_entities(etree.fromstring(data, lenient))
            except (etree.XMLSyntaxError, ValueError):
                return None

    def notes(self) -> list[str]:
        """What a reader of the extracted text should know about the package: cut off, or
        parts that could not be read whole. Call after the text was read."""
        notes = [recovered_note()] if self.recovered else []
        if self.damaged:
            names = ", ".join(f"“{name}”" for name in self.damaged[:3])
            more = f" and {len(self.damaged) - 3} more" if len(self.damaged) > 3 else ""
            notes.append(
                f"The file is damaged: part {names}{more} does not match the size or "
                "checksum the file gives for it, so its text may be missing or cut short."
            )
        return notes

    def rels(self, part: str) -> dict[str, Rel]:
        """Relationships of ``part`` ("" for the package itself), by id; external targets
        (web links) are left out."""
        folder, base = posixpath.split(part)
        root = self.xml(posixpath.join(folder, "_rels", f"{base}.rels"))
        found: dict[str, Rel] = {}
        if root is None:
            return found
        for element in root.iter(q("rel", "Relationship")):
            if element.get("TargetMode") == "External":
                continue
            target = element.get("Target") or ""
            if target.startswith("/"):
                target = target.lstrip("/")
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found[element.get("Id", "")] = Rel(
                element.get("Id", ""), element.get("Type", ""), target
            )
        return found

    def rels_of_type(self, part: str, suffix: str) -> list[Rel]:
        return [rel for rel in self.rels(part).values() if rel.type.endswith(suffix)]

    def main_part(self) -> str:
        """The package's main part (word/document.xml, ppt/presentation.xml...) or ""."""
        for rel in self.rels("").values():
            if rel.type.endswith(OFFICE_DOCUMENT) and self.has(rel.target):
                return rel.target
        return ""

    def content_type(self, name: str) -> str:
        root = self.xml("[Content_Types].xml")
        if root is None:
            return ""
        for element in root.iter(q("ct", "Override")):
            if (element.get("PartName") or "").lstrip("/") == name:
                return element.get("ContentType", "")
        extension = posixpath.splitext(name)[1].lstrip(".").lower()
        for element in root.iter(q("ct", "Default")):
            if (element.get("Extension") or "").lower() == extension:
                return element.get("ContentType", "")
        return ""

    def kind(self) -> str:
        """ "docx", "pptx" or "xlsx" by the main part's content type (templates, slideshows and
        macro-enabled files included), or "" when it is none of them."""
        main = self.main_part()
        content_type = self.content_type(main).lower() if main else ""
        for kind, markers in KIND_MARKERS.items():
            if any(marker in content_type for marker in markers):
                return kind
        return ""

    def read_optional(self, name: str) -> bytes | None:
        """The bytes of a part read only if the unpacking budget allows (an embedded file, a
        preview): None when it is missing or would take the package over the budget."""
        if not self.has(name):
            return None
        size = self._sizes[name]
        if _is_unpacked(name) or self.recovered:
            return self.read(name)  # counted when the package was opened
        if self.unpacked[0] + size > self.limits.max_unzipped_bytes:
            return None
        self.unpacked[0] += size
        return self.read(name)

    def thumbnail(self) -> bytes | None:
        for name in self.names():
            if name.lower().startswith("docprops/thumbnail."):
                return None if self._sizes[name] > 5 * MB else self.read_optional(name)
        return None


_DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL)


def _without_doctype(data: bytes) -> bytes:
    """``data`` without its DOCTYPE, which Office never writes: its entities are never
    expanded (billion laughs, external files), and libxml2 stops reading at a reference to one
    that would expand too far, losing the rest of the part."""
    start = data.find(b"<!DOCTYPE", 0, 512)
    if start < 0:
        return data
    doctype = _DOCTYPE.match(data, start)
    return data[:start] + data[doctype.end() :] if doctype else data


def _without_entities(root):
    """``root`` with each entity reference (``&name;``, left undefined by ``_without_doctype``)
    taken out and the text after it kept: lxml hangs that text on the reference, where text
    readers miss it."""
    from lxml import etree

    if root is None:
        return None
    for entity in list(root.iter(etree.Entity)):
        parent, previous, tail = entity.getparent(), entity.getprevious(), entity.tail or ""
        if parent is None:
            continue
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(entity)
    return root


def recovered_note() -> str:
    return incomplete_note("parts")


# --- Opening an Office file ------------------------------------------------------------------


def open_office(source, *, kind: str, limits: Limits, unpacked=None) -> Package:
    """Open ``source`` as an Office package of ``kind`` ("docx", "pptx", "xlsx").

    Raises ExtractionError naming the problem: password protection (status "protected"), an
    older binary format saved under the new extension, another Office type, damage.
    """
    label = KIND_LABELS[kind]
    head = _head(source)
    if head.startswith(OLE_MAGIC):
        raise ole_problem(source, kind=kind)
    package = Package(source, limits=limits, unpacked=unpacked)
    found = package.kind()
    if not found and package.recovered:
        raise ExtractionError(
            f"The {label} file is incomplete (it was cut off) and none of its text could be "
            "recovered; upload the complete file."
        )
    if not found and _is_theme(package):
        raise ExtractionError(
            f"The file is an Office theme (colours, fonts and effects), not a {label} document: "
            "it holds no text to read. Upload a document that uses the theme instead."
        )
    if not found:
        raise ExtractionError(
            f"The {label} file is damaged and could not be read; "
            "open it in the application, save it again and upload the new file."
        )
    if found != kind:
        raise ExtractionError(
            f"The file is not a {label} file: it is a {KIND_LABELS[found]} file under the "
            f"wrong extension. Rename it to .{found} and upload it again."
        )
    return package


def _is_theme(package: Package) -> bool:
    """A theme package (.thmx, or one renamed): its main part is a theme, not a document."""
    main = package.main_part()
    return bool(main) and "theme+xml" in package.content_type(main).lower()


def _head(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source[:8])
    if hasattr(source, "read"):
        position = source.tell()
        head = source.read(8)
        source.seek(position)
        return head
    with open(source, "rb") as handle:
        return handle.read(8)


def ole_problem(source, *, kind: str) -> ExtractionError:
    """What is wrong with an OLE container under an Office Open XML extension: Office keeps a
    password-protected .docx/.pptx/.xlsx in one (streams EncryptionInfo/EncryptedPackage);
    otherwise it is an older binary file (.doc/.ppt/.xls) renamed."""
    import olefile

    label = KIND_LABELS[kind]
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with olefile.OleFileIO(source) as ole:
            encrypted = ole.exists("EncryptedPackage")
    except (OSError, ValueError, IndexError, struct.error):
        encrypted = False
    if encrypted:
        return password_error(f"{label} file")
    return ExtractionError(older_format_message("The file", kind=kind))


def older_format_message(subject: str, *, kind: str) -> str:
    """``subject`` ("The file", or the file's name in quotes) is an older binary file under
    ``kind``'s extension, and what to do about it."""
    label = KIND_LABELS[kind]
    return (
        f"{subject} is an older {label} file (.{LEGACY_EXTENSIONS[kind]}) saved under the "
        f".{kind} extension; save it as .{kind} in {label} and upload it again."
    )


def newer_format_message(filename: str, *, kind: str) -> str:
    """A modern package of ``kind`` saved under an older extension (a .docx named .doc)."""
    label = KIND_LABELS[kind]
    extension = extension_of(filename)
    return (
        f"“{filename}” is {with_article(label)} file in the newer format (.{kind}, {label} "
        f"2007 and later) saved under the .{extension} extension; rename it to .{kind} and "
        "upload it again."
    )


def check_office_signature(filename: str, kind: str, head: bytes, fileobj) -> None:
    """The upload check for an OOXML extension: a zip holding a main part of ``kind``, or a
    password-protected file of that kind (accepted: it is stored, and marked protected)."""
    label = KIND_LABELS[kind]
    if head.startswith(OLE_MAGIC):
        fileobj.seek(0)
        problem = ole_problem(fileobj, kind=kind)
        if problem.status == "protected":
            return
        raise ExtractionError(older_format_message(f"“{filename}”", kind=kind))
    if not head.startswith(ZIP_MAGIC):
        raise ExtractionError(f"“{filename}” is not a {label} file: it is not an Office package.")
    fileobj.seek(0)
    try:
        found = Package(fileobj, limits=Limits()).kind()
    except ExtractionError as error:
        if "zip bomb" in str(error):
            return  # stored; processing reports it
        raise ExtractionError(f"“{filename}” is a damaged {label} file.") from error
    if found != kind:
        raise ExtractionError(f"“{filename}” is not a {label} file: its contents do not match.")


# --- DrawingML shared by Word, PowerPoint and Excel -----------------------------------------


def drawing_paragraph(paragraph) -> str:
    """Text of an ``a:p``: its runs and fields, line breaks as newlines."""
    parts = []
    for element in paragraph.iter(q("a", "t"), q("a", "br")):
        parts.append("\n" if element.tag == q("a", "br") else (element.text or ""))
    return "".join(parts)


def text_body(element) -> str:
    """Text of a text body (``p:txBody``, ``a:txBody``, ``c:rich``...), one line a paragraph."""
    if element is None:
        return ""
    return "\n".join(drawing_paragraph(p) for p in element.iter(q("a", "p")))


def chart_text(package: Package, part: str) -> str:
    """What a chart shows in words: titles (chart and axes), series names and category labels.

    Numbers (values, numeric categories) are left out; they are not what people search for.
    Works for classic charts (``c:``) and the newer chartex (``cx:``) parts.
    """
    root = package.xml(part)
    if root is None:
        return ""
    lines: list[str] = []
    for element in root.iter():
        name = local(element.tag)
        if name in ("title", "tx") and element.getparent() is not None:
            text = text_body(element)
            if text.strip():
                lines.append(text)
                continue
        if name in ("v", "pt") and _in_string_data(element):
            if element.text and element.text.strip():
                lines.append(element.text)
    return "\n".join(_unique(lines))


def _in_string_data(element) -> bool:
    """A cached value (``c:v``/``cx:pt``) that is text: a series name or a category label."""
    for ancestor in element.iterancestors():
        name = local(ancestor.tag)
        if name in ("numCache", "numRef", "numLit", "val", "yVal", "bubbleSize", "numDim"):
            return False
        if name in ("strCache", "strRef", "strLit", "tx", "multiLvlStrCache", "cat", "strDim"):
            return True
        if name in ("chartSpace", "plotArea"):
            return False
    return False


def diagram_text(package: Package, part: str) -> str:
    """The words of a SmartArt diagram, from its data model, one node a line."""
    root = package.xml(part)
    if root is None:
        return ""
    lines = []
    for point in root.iter(q("dgm", "pt")):
        if point.get("type") in ("parTrans", "sibTrans", "pres"):
            continue
        body = point.find(q("dgm", "t"))
        text = text_body(body)
        if text.strip():
            lines.append(text)
    return "\n".join(lines)


def graphic_frame_text(package: Package, part: str, frame, *, reader) -> list[str]:
    """Text of a graphic frame's chart, SmartArt or embedded package in part ``part``.

    ``reader(package, target)`` reads an embedded package (a workbook in a deck); it returns
    text or "".
    """
    rels = package.rels(part)
    texts = []
    seen: set[str] = set()
    for element in frame.iter():
        name = local(element.tag)
        if name == "chart":
            rel = rels.get(element.get(q("r", "id")) or "")
            if rel:
                texts.append(chart_text(package, rel.target))
        elif name == "relIds":
            rel = rels.get(element.get(q("r", "dm")) or "")
            if rel:
                texts.append(diagram_text(package, rel.target))
        elif name in ("oleObj", "OLEObject") and element.get(q("r", "id")):
            rel = rels.get(element.get(q("r", "id")))
            if rel and rel.target not in seen:  # the same object appears in mc:Fallback
                seen.add(rel.target)
                texts.append(reader(package, rel.target))
    return [text for text in texts if text and text.strip()]


def _unique(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            kept.append(line)
    return kept
