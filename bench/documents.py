"""Document extraction benchmark: the library's extractor against Apache Tika on real files.

    make bench BENCH_ARGS="documents [--corpus=DIR] [--formats=pdf,docx] [--limit=N]
                                     [--tika-url=URL] [--no-tika]"

The corpus is a folder of public projects' test fixtures built by ``bench.documents_corpus``
(default ``/work/dev/corpus``, else ``.ci/work/corpus``; never committed). Both tools read every
file one after the other on one core's worth of work:

- ours through the upload path's sandbox (``extract_bounded``: a warm worker process, 60 s and
  1024 MB caps), without OCR (as Tika runs here); ``--tika-url`` sends legacy formats (.doc,
  .ppt, .xls...) to a Tika server as ``TIKA_URL`` would, otherwise they count as unsupported;
- Tika app (``org.apache.tika:tika-app`` from Maven Central, run by ``bench/TikaBatch.java``
  in one warm JVM, OCR off), when Java is present.

Per format it reports ok/failed per tool (and files only one tool reads), median and p10
word-F1 of our text against Tika's, seconds per file (median, mean) for both, and, per
structural category (headers, footnotes, text boxes, notes, charts...), the words Tika finds
there that we miss. A category's words are those of its own XML parts or elements, read
directly from the package (PDF: Tika's annotation and form-field blocks), that Tika's text
has and that do not also occur in the body; recall is the share of them in our text. Words
are lower-cased tokens with at least one letter. Then a second pass OCRs the PDFs we found
without a text layer (up to 10); the rule that picks pypdf's or pdfium's text for a PDF page
is scored against each reader alone (word-F1 against Tika's text of the same page); and the
per-file overhead of the sandbox is measured: a warm worker against a process started for the
file.

Writes bench/results/documents.json.
"""

from __future__ import annotations

import collections
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "documents.json"
TIKA_VERSION = "3.2.2"
SECONDS = 60
MEMORY_MB = 1024
_WORD = re.compile(r"\w+", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
TIKA_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<properties>
  <parsers>
    <parser class="org.apache.tika.parser.DefaultParser">
      <parser-exclude class="org.apache.tika.parser.ocr.TesseractOCRParser"/>
    </parser>
  </parsers>
</properties>
"""


def _options(argv: list[str]) -> dict:
    options = {
        "corpus": "",
        "limit": "0",
        "tika-url": os.environ.get("TIKA_URL", ""),
        "no-tika": "",
        "formats": "",
    }
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name in options:
            options[name] = value or "1"
    return options


def _corpus(option: str) -> Path:
    for candidate in (option, os.environ.get("BENCH_CORPUS", ""), "/work/dev/corpus"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return ROOT / ".ci" / "work" / "corpus"


# --- Words -----------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return [word for word in _WORD.findall(text) if _LETTER.search(word)]


def word_f1(ours: str, reference: str) -> float | None:
    """Multiset word-F1 of ``ours`` against ``reference``; None when both have no words."""
    mine, theirs = collections.Counter(words(ours)), collections.Counter(words(reference))
    if not mine and not theirs:
        return None
    overlap = sum((mine & theirs).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(mine.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- Tika --------------------------------------------------------------------------------------


def run_tika(files: list[Path], work: Path) -> dict[int, dict]:
    """Tika's XHTML and time for each file, or {} when Java or the jar is not available."""
    if shutil.which("java") is None:
        print("java not found: Tika is not run")
        return {}
    jar = subprocess.run(
        ["bash", str(ROOT / ".ci" / "tika.sh"), "app"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not jar or not Path(jar).exists():
        print("tika-app could not be downloaded: Tika is not run")
        return {}
    listing = work / "files.txt"
    listing.write_text("\n".join(str(path) for path in files) + "\n", encoding="utf-8")
    config = work / "tika-config.xml"
    config.write_text(TIKA_CONFIG, encoding="utf-8")
    out = work / "tika"
    print(f"Tika {TIKA_VERSION}: {len(files)} files...", flush=True)
    subprocess.run(
        ["java", "-Xmx1g", "-cp", jar, str(ROOT / "bench" / "TikaBatch.java"),
         str(listing), str(out), str(config), str(SECONDS)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results = {}
    for line in (out / "results.tsv").read_text(encoding="utf-8").splitlines():
        index, status, seconds, message = (line.split("\t") + [""])[:4]
        xhtml = (out / f"{index}.xhtml").read_text(encoding="utf-8", errors="replace")
        results[int(index)] = {"status": status, "seconds": float(seconds), "message": message,
                               "xhtml": xhtml}  # fmt: skip
    return results


def tika_text(xhtml: str) -> tuple[str, dict[str, str]]:
    """Tika's text (OCR blocks and embedded files' names left out) and the text of its PDF
    annotation blocks and form-field values."""
    from lxml import etree

    parser = etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False)
    try:
        root = etree.fromstring(xhtml.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return "", {}
    blocks: dict[str, list[str]] = {"pdf annotations": [], "pdf form field values": []}
    for div in list(root.iter("{*}div")):
        kind = div.get("class")
        if kind == "ocr":
            div.getparent().remove(div)
        elif kind == "package-entry":  # an embedded file: its name is not text of the document
            for heading in div.findall("{*}h1"):
                div.remove(heading)
        elif kind == "annotation":
            blocks["pdf annotations"].append(" ".join(div.itertext()))
        elif kind == "acroform":
            # "name: value" items; a field's name is not shown to a reader, its value is.
            # Check box states (Yes/Off) are not words of the document either.
            for item in div.iter("{*}li"):
                value = "".join(item.itertext()).partition(": ")[2]
                if value.strip().lower() not in ("yes", "off", "on", "no", ""):
                    blocks["pdf form field values"].append(value)
    body = next(root.iter("{*}body"), root)
    return " ".join(body.itertext()), {key: " ".join(value) for key, value in blocks.items()}


# --- Structural categories, read from the package itself --------------------------------------


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _scrape(element) -> str:
    """Words of an XML element: the text of its ``t``/``v``/``text`` elements, paragraph by
    paragraph (runs of one paragraph joined without spaces)."""
    parts = []
    for node in element.iter():
        name = _local(node.tag)
        if name == "p":
            parts.append("".join(t.text or "" for t in node.iter() if _local(t.tag) == "t"))
        elif name in ("v", "text") and node.text:
            parts.append(node.text)
        elif (
            name == "t"
            and node.text
            and not any(_local(a.tag) == "p" for a in node.iterancestors())
        ):
            parts.append(node.text)
    return " ".join(parts)


def _xml(archive: zipfile.ZipFile, name: str):
    from lxml import etree

    try:
        return etree.fromstring(
            archive.read(name), etree.XMLParser(recover=True, resolve_entities=False)
        )
    except Exception:  # noqa: BLE001 - a part we cannot parse has no words for the benchmark
        return None


DOCX_INLINE = {"text boxes": "txbxContent", "content controls": "sdtContent",
               "tracked insertions": "ins"}  # fmt: skip


def docx_categories(archive: zipfile.ZipFile) -> tuple[dict[str, str], str]:
    categories: dict[str, list[str]] = collections.defaultdict(list)
    body = ""
    for name in archive.namelist():
        base = name.rsplit("/", 1)[-1]
        part = None
        for prefix, category in (
            ("header", "headers/footers"),
            ("footer", "headers/footers"),
            ("footnotes", "footnotes/endnotes"),
            ("endnotes", "footnotes/endnotes"),
            ("comments", "comments"),
        ):
            if name.startswith("word/") and base.startswith(prefix) and base.endswith(".xml"):
                part = _xml(archive, name)
                if part is not None:
                    categories[category].append(_scrape(part))
        if name == "word/document.xml":
            root = _xml(archive, name)
            if root is None:
                continue
            for category, tag in DOCX_INLINE.items():
                for element in root.iter(f"{{*}}{tag}"):
                    categories[category].append(_scrape(element))
            for cell in root.iter("{*}tc"):
                for table in cell.iter("{*}tbl"):
                    categories["nested tables"].append(_scrape(table))
            for tag in (*DOCX_INLINE.values(), "tbl"):
                for element in list(root.iter(f"{{*}}{tag}")):
                    if element.getparent() is not None and (
                        tag != "tbl" or any(_local(a.tag) == "tc" for a in element.iterancestors())
                    ):
                        element.getparent().remove(element)
            body = _scrape(root)
    return {key: " ".join(value) for key, value in categories.items()}, body


def _embedded_words(archive: zipfile.ZipFile, name: str) -> str:
    try:
        inner = zipfile.ZipFile(io.BytesIO(archive.read(name)))
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    texts = []
    for part in inner.namelist():
        if part.endswith(".xml") and (
            "sharedStrings" in part or "document.xml" in part or "/slides/slide" in part
        ):
            root = _xml(inner, part)
            if root is not None:
                texts.append(_scrape(root))
    return " ".join(texts)


def pptx_categories(archive: zipfile.ZipFile) -> tuple[dict[str, str], str]:
    categories: dict[str, list[str]] = collections.defaultdict(list)
    body = []
    slide_embeddings = set()
    for name in archive.namelist():
        if re.fullmatch(r"ppt/slides/_rels/slide\d+\.xml\.rels", name):
            rels = _xml(archive, name)
            for rel in rels.iter() if rels is not None else []:
                target = rel.get("Target") or ""
                if "embeddings/" in target:
                    slide_embeddings.add("ppt/embeddings/" + target.rsplit("/", 1)[-1])
    for name in archive.namelist():
        rules = (("ppt/notesSlides/", "notes"), ("ppt/charts/chart", "charts"),
                 ("ppt/diagrams/data", "SmartArt"), ("ppt/comments/", "comments"))  # fmt: skip
        for prefix, category in rules:
            if name.startswith(prefix) and name.endswith(".xml"):
                root = _xml(archive, name)
                if root is not None:
                    categories[category].append(_scrape(root))
        if name in slide_embeddings:
            categories["embedded documents"].append(_embedded_words(archive, name))
        if re.fullmatch(r"ppt/slides/slide\d+\.xml", name):
            root = _xml(archive, name)
            if root is not None:
                body.append(_scrape(root))
    return {key: " ".join(value) for key, value in categories.items()}, " ".join(body)


def xlsx_categories(archive: zipfile.ZipFile) -> tuple[dict[str, str], str]:
    categories: dict[str, list[str]] = collections.defaultdict(list)
    body = []
    for name in archive.namelist():
        rules = (("xl/charts/chart", "charts"), ("xl/comments", "comments"),
                 ("xl/drawings/drawing", "text boxes"))  # fmt: skip
        for prefix, category in rules:
            if name.startswith(prefix) and name.endswith(".xml"):
                root = _xml(archive, name)
                if root is not None:
                    categories[category].append(_scrape(root))
        if name == "xl/sharedStrings.xml" or re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
            root = _xml(archive, name)
            if root is not None:
                body.append(_scrape(root))
    return {key: " ".join(value) for key, value in categories.items()}, " ".join(body)


SCRAPERS = {"docx": docx_categories, "dotx": docx_categories, "pptx": pptx_categories,
            "ppsx": pptx_categories, "potx": pptx_categories, "xlsx": xlsx_categories}  # fmt: skip


def categories_of(path: Path, extension: str) -> tuple[dict[str, str], str]:
    scraper = SCRAPERS.get(extension)
    if scraper is None:
        return {}, ""
    try:
        with zipfile.ZipFile(path) as archive:
            return scraper(archive)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return {}, ""


# --- Ours --------------------------------------------------------------------------------------


def run_ours(files: list[Path], *, tika_url: str) -> dict[int, dict]:
    from cms.extraction import ExtractionError, Limits, extract_bounded, unsupported_reason

    limits = Limits(ocr_pages=0, tika_url=tika_url, seconds=SECONDS - 10)
    results = {}
    print(f"ours: {len(files)} files...", flush=True)
    for index, path in enumerate(files):
        if unsupported_reason(path.name, limits):
            results[index] = {"status": "unsupported", "seconds": 0.0, "text": "", "notes": []}
            continue
        started = time.perf_counter()
        try:
            extraction = extract_bounded(
                path,
                filename=path.name,
                limits=limits,
                timeout=SECONDS,
                max_memory_mb=MEMORY_MB,
                workers=1,
            )
            result = {"status": "ok", "text": extraction.text, "notes": extraction.notes}
        except ExtractionError as error:
            status = "protected" if error.status == "protected" else "failed"
            result = {"status": status, "text": "", "notes": [str(error)]}
        result["seconds"] = time.perf_counter() - started
        results[index] = result
    return results


def ocr_pass(files: list[Path], ours: dict[int, dict]) -> dict:
    """OCR the PDFs our first pass found without a text layer (at most 10)."""
    from cms.extraction import ExtractionError, Limits, extract_bounded
    from cms.extraction.ocr import tesseract

    scanned = [i for i, r in ours.items() if any("no text layer" in n.lower() for n in r["notes"])]
    report = {"pdfs_without_text_layer": len(scanned), "tesseract": bool(tesseract())}
    if not tesseract():
        return report
    read, seconds, characters = 0, [], 0
    for index in scanned[:10]:
        started = time.perf_counter()
        try:
            extraction = extract_bounded(
                files[index],
                filename=files[index].name,
                limits=Limits(ocr_pages=5),
                timeout=SECONDS * 2,
                max_memory_mb=MEMORY_MB,
                workers=1,
            )
        except ExtractionError:
            continue
        seconds.append(time.perf_counter() - started)
        characters += len(extraction.text)
        read += bool(extraction.text.strip())
    report.update(
        ocr_tried=len(scanned[:10]),
        ocr_gave_text=read,
        ocr_characters=characters,
        ocr_seconds_per_file_median=_round(statistics.median(seconds)) if seconds else None,
    )
    return report


def _tika_pages(xhtml: str) -> list[str]:
    from lxml import etree

    parser = etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False)
    try:
        root = etree.fromstring(xhtml.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    pages = []
    for div in root.iter("{*}div"):
        if div.get("class") == "page":
            for block in list(div.iter("{*}div")):
                if block.get("class") in ("annotation", "ocr") and block.getparent() is not None:
                    block.getparent().remove(block)
            pages.append(" ".join(div.itertext()))
    return pages


def reader_rule(files: list[Path], tika: dict[int, dict], *, max_pages: int = 60) -> dict:
    """How the rule that picks pypdf's or pdfium's text for a page (``cms.extraction.pdf.
    choose_text``) compares with either reader alone: mean word-F1 against Tika's text of the
    same page, over the pages of PDFs (up to ``max_pages``) whose page counts agree."""
    import logging

    from cms.extraction import pdf

    logging.disable(logging.CRITICAL)
    scores: dict[str, list[float]] = {"pypdf": [], "pdfium": [], "rule": []}
    switched: dict[str, list[float]] = {"pypdf": [], "pdfium": []}
    for index, path in enumerate(files):
        theirs = tika.get(index)
        if path.suffix.lower() != ".pdf" or not theirs or theirs["status"] != "ok":
            continue
        reference = _tika_pages(theirs["xhtml"])
        try:
            reader, document = pdf._open_pypdf(path), pdf._open_pdfium(path)
        except Exception:  # noqa: BLE001, S112 - encrypted or broken: not this measure's business
            continue
        if reader is None or document is None or len(reader.pages) != len(reference):
            continue
        for number, page_reference in enumerate(reference[:max_pages]):
            if not words(page_reference):
                continue
            first = pdf._pypdf_text(reader, number, 5.0) or ""
            second = pdf._pdfium_text(document, number) or ""
            chosen, source = pdf.choose_text(first, second)
            for name, text in (("pypdf", first), ("pdfium", second), ("rule", chosen)):
                scores[name].append(word_f1(text, page_reference) or 0.0)
            if source == "pdfium" and first.strip():
                switched["pypdf"].append(word_f1(first, page_reference) or 0.0)
                switched["pdfium"].append(word_f1(second, page_reference) or 0.0)
        document.close()
    logging.disable(logging.NOTSET)
    mean = lambda values: _round(statistics.mean(values)) if values else None  # noqa: E731
    return {
        "pages": len(scores["rule"]),
        "mean_word_f1_vs_tika": {name: mean(values) for name, values in scores.items()},
        "pages_switched_to_pdfium": len(switched["pdfium"]),
        "on_switched_pages_mean_word_f1": {name: mean(v) for name, v in switched.items()},
    }


def overhead() -> dict:
    """Per-file cost of isolation: a warm worker vs a process started for the file, on a tiny
    text file (so the cost measured is the sandbox, not the reading)."""
    from cms.extraction import Limits, extract, extract_bounded, pool

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiny.txt"
        path.write_text("Hello from a tiny file.")
        limits = Limits()
        timings = {"in_process": [], "warm_worker": [], "new_process": []}
        extract_bounded(
            path, filename="tiny.txt", limits=limits, timeout=30, max_memory_mb=MEMORY_MB, workers=1
        )
        for _ in range(30):
            started = time.perf_counter()
            extract(path, filename="tiny.txt", limits=limits)
            timings["in_process"].append(time.perf_counter() - started)
            started = time.perf_counter()
            extract_bounded(
                path,
                filename="tiny.txt",
                limits=limits,
                timeout=30,
                max_memory_mb=MEMORY_MB,
                workers=1,
            )
            timings["warm_worker"].append(time.perf_counter() - started)
        request = {
            "op": "extract",
            "path": str(path),
            "filename": "tiny.txt",
            "limits": limits.__dict__,
        }
        for _ in range(5):
            started = time.perf_counter()
            worker = pool.Worker(pool.worker_command(MEMORY_MB))
            worker.call(request, timeout=30)
            timings["new_process"].append(time.perf_counter() - started)
            worker.stop()
    medians = {key: statistics.median(values) for key, values in timings.items()}
    return {
        "median_seconds": {key: _round(value, 4) for key, value in medians.items()},
        "overhead_warm_worker_seconds": _round(medians["warm_worker"] - medians["in_process"], 4),
        "overhead_new_process_seconds": _round(medians["new_process"] - medians["in_process"], 4),
    }


# --- Report ------------------------------------------------------------------------------------


def _round(value, digits: int = 3):
    return None if value is None else round(value, digits)


def compare(files: list[Path], ours: dict, tika: dict) -> dict:
    formats: dict[str, dict] = {}
    for index, path in enumerate(files):
        extension = path.suffix.lower().lstrip(".")
        row = formats.setdefault(extension, {
            "files": 0, "ours": collections.Counter(), "tika": collections.Counter(),
            "f1": [], "tika_empty_ours_not": 0, "seconds_ours": [], "seconds_tika": [],
            "categories": {}, "only_tika_reads": [], "only_we_read": [], "lowest": [],
        })  # fmt: skip
        row["files"] += 1
        mine = ours[index]
        row["ours"][mine["status"]] += 1
        if mine["status"] != "unsupported":
            row["seconds_ours"].append(mine["seconds"])
        theirs = tika.get(index)
        if theirs is None:
            continue
        row["tika"][theirs["status"]] += 1
        row["seconds_tika"].append(theirs["seconds"])
        tika_ok = theirs["status"] == "ok"
        if tika_ok and mine["status"] in ("failed",):
            row["only_tika_reads"].append(
                f"{path.parent.name}/{path.name}: {mine['notes'][0][:120]}"
            )
        if mine["status"] == "ok" and not tika_ok:
            row["only_we_read"].append(f"{path.parent.name}/{path.name}")
        if not (tika_ok and mine["status"] == "ok"):
            continue
        reference, pdf_blocks = tika_text(theirs["xhtml"])
        f1 = word_f1(mine["text"], reference)
        if f1 is not None and words(reference):
            row["f1"].append(f1)
            row["lowest"].append((round(f1, 3), f"{path.parent.name}/{path.name}"))
        elif f1 is not None:
            row["tika_empty_ours_not"] += 1
        _categories(row, path, extension, mine["text"], reference, pdf_blocks)
    return {extension: _summary(row) for extension, row in sorted(formats.items())}


def _categories(row, path, extension, ours: str, reference: str, pdf_blocks: dict) -> None:
    if extension == "pdf":
        body = set(words(reference)) - set().union(*(set(words(t)) for t in pdf_blocks.values()))
        categories = pdf_blocks
    else:
        categories, body_text = categories_of(path, extension)
        body = set(words(body_text))
    ours_words, tika_words = set(words(ours)), set(words(reference))
    for category, text in categories.items():
        attributable = (set(words(text)) & tika_words) - body
        if not attributable:
            continue
        stats = row["categories"].setdefault(
            category, {"files": 0, "words": 0, "found": 0, "missed": collections.Counter()}
        )
        stats["files"] += 1
        stats["words"] += len(attributable)
        found = attributable & ours_words
        stats["found"] += len(found)
        stats["missed"].update(attributable - found)


def _summary(row: dict) -> dict:
    return {
        "files": row["files"],
        "ours": dict(row["ours"]),
        "tika": dict(row["tika"]),
        "word_f1": {
            "files": len(row["f1"]),
            "median": _round(statistics.median(row["f1"])) if row["f1"] else None,
            "p10": _round(_percentile(row["f1"], 0.10)),
            "mean": _round(statistics.mean(row["f1"])) if row["f1"] else None,
        },
        "tika_empty_ours_not": row["tika_empty_ours_not"],
        "seconds_per_file": {
            "ours_median": _round(statistics.median(row["seconds_ours"]), 4)
            if row["seconds_ours"]
            else None,
            "ours_mean": _round(statistics.mean(row["seconds_ours"]), 4)
            if row["seconds_ours"]
            else None,
            "tika_median": _round(statistics.median(row["seconds_tika"]), 4)
            if row["seconds_tika"]
            else None,
            "tika_mean": _round(statistics.mean(row["seconds_tika"]), 4)
            if row["seconds_tika"]
            else None,
        },
        "categories": {
            name: {
                "files": stats["files"],
                "tika_words": stats["words"],
                "found": stats["found"],
                "recall": _round(stats["found"] / stats["words"]) if stats["words"] else None,
                "missed_examples": [word for word, _ in stats["missed"].most_common(12)],
            }
            for name, stats in sorted(row["categories"].items())
        },
        "only_tika_reads": row["only_tika_reads"][:20],
        "only_we_read": len(row["only_we_read"]),
        "lowest_f1": sorted(row["lowest"])[:10],
    }


def _print(report: dict) -> None:
    print(f"\n{'format':7} {'files':>5} {'ours ok/fail/prot/unsup':>24} {'tika ok/fail':>12} "
          f"{'F1 med':>6} {'p10':>5} {'s ours':>7} {'s tika':>7}")  # fmt: skip
    for extension, row in report["formats"].items():
        ours, tika, f1, sec = row["ours"], row["tika"], row["word_f1"], row["seconds_per_file"]
        counts = "/".join(
            str(ours.get(key, 0)) for key in ("ok", "failed", "protected", "unsupported")
        )
        theirs = f"{tika.get('ok', 0)}/{tika.get('failed', 0) + tika.get('timeout', 0)}"
        median = "-" if f1["median"] is None else f1["median"]
        p10 = "-" if f1["p10"] is None else f1["p10"]
        print(
            f"{extension:7} {row['files']:5} {counts:>24} {theirs:>12} {median:>6} {p10:>5} "
            f"{sec['ours_median'] or '-':>7} {sec['tika_median'] or '-':>7}"
        )
        for name, stats in row["categories"].items():
            found = f"{stats['found']}/{stats['tika_words']}"
            print(f"        {name:22} {found} words ({stats['recall']}) in {stats['files']} files")
    print("\noverhead:", json.dumps(report["overhead"]))
    print("ocr:", json.dumps(report["ocr"]))
    print("pdf reader rule:", json.dumps(report["pdf_reader_rule"]))


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    options = _options(argv)
    corpus = _corpus(options["corpus"])
    from cms.extraction import parser_for

    files = sorted(p for p in corpus.rglob("*") if p.is_file() and parser_for(p.name))
    if options["formats"]:
        chosen = set(options["formats"].split(","))
        files = [path for path in files if path.suffix.lower().lstrip(".") in chosen]
    if int(options["limit"]):
        files = files[:: max(1, len(files) // int(options["limit"]))][: int(options["limit"])]
    if not files:
        print(f"No corpus at {corpus}: build one with `python -m bench.documents_corpus`.")
        return 1
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as folder:
        tika = {} if options["no-tika"] else run_tika(files, Path(folder))
        ours = run_ours(files, tika_url=options["tika-url"])
    report = {
        "corpus": str(corpus),
        "files": len(files),
        "tika": f"tika-app {TIKA_VERSION} (OCR off)" if tika else None,
        "ours": "cms.extraction.extract_bounded (warm sandboxed worker, OCR off)"
        + (
            f", legacy formats via Tika server {options['tika-url']}" if options["tika-url"] else ""
        ),
        "formats": compare(files, ours, tika),
        "ocr": ocr_pass(files, ours),
        "pdf_reader_rule": reader_rule(files, tika) if tika else None,
        "overhead": overhead(),
        "seconds": round(time.time() - started, 1),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print(report)
    print(f"\nwrote {RESULTS}")
    return 0
