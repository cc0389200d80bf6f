"""Build the document benchmark's corpus from public projects' test fixtures.

The corpus is never committed: it is copied from git repositories into a directory outside the
repository (``/work/dev/corpus`` or ``.ci/work/corpus``), one folder per source project, with a
``SOURCES.tsv`` that says where each file came from (repository, commit, path) and under which
licence the project publishes it.

    python -m bench.documents_corpus --out /work/dev/corpus REPO_DIR [REPO_DIR ...]

Each ``REPO_DIR`` is a git directory (bare or not) of one of the projects in ``SOURCES``; clone
them with ``git clone --depth 1 https://github.com/<owner>/<name>``. Files are read with
``git cat-file`` from HEAD, so no work tree is needed. At most ``--per-format`` files of each
format are taken from each project (a stable, path-sorted sample every ``n``-th file), 400 for
PDF (``--cap pdf=400``).
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

FORMATS = (
    "pdf",
    "docx",
    "pptx",
    "xlsx",
    "ppsx",
    "potx",
    "dotx",
    "doc",
    "ppt",
    "xls",
    "odt",
    "odp",
    "rtf",
    "msg",
    "vtt",
    "srt",
)
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    repository: str  # owner/name on GitHub
    licence: str
    prefixes: tuple[str, ...] = ("",)  # only files under these paths


SOURCES = {
    "py-pdf+sample-files": Source("py-pdf/sample-files", "per file, see its README"),
    "mozilla+pdf.js": Source(
        "mozilla/pdf.js", "Apache-2.0 (test files: see test/pdfs)", ("test/pdfs/",)
    ),
    "scanny+python-pptx": Source("scanny/python-pptx", "MIT", ("tests/", "features/")),
    "python-openxml+python-docx": Source(
        "python-openxml/python-docx", "MIT", ("tests/", "features/")
    ),
    "apache+poi": Source("apache/poi", "Apache-2.0", ("test-data/",)),
    "apache+tika": Source("apache/tika", "Apache-2.0", ("tika-parsers/",)),
}


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def _source_key(repo: Path) -> str:
    for key in SOURCES:
        if key in str(repo) or key.split("+")[1] == repo.name.removesuffix(".git"):
            return key
    raise SystemExit(f"{repo}: not one of the known sources ({', '.join(SOURCES)})")


def _candidates(repo: Path, source: Source) -> dict[str, list[tuple[str, str]]]:
    """Per format, (object id, path) of files under the source's prefixes, sorted by path."""
    by_format: dict[str, list[tuple[str, str]]] = {fmt: [] for fmt in FORMATS}
    listing = _git(repo, "ls-tree", "-r", "-l", "HEAD").decode("utf-8", "replace")
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        _mode, kind, object_id, size = meta.split()
        extension = PurePosixPath(path).suffix.lower().lstrip(".")
        if kind != "blob" or extension not in by_format or not size.isdigit():
            continue
        if int(size) > MAX_BYTES or not path.startswith(source.prefixes):
            continue
        by_format[extension].append((object_id, path))
    return {fmt: sorted(items, key=lambda item: item[1]) for fmt, items in by_format.items()}


def _sample(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]


def build(repos: list[Path], out: Path, *, per_format: int, caps: dict[str, int]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rows = ["folder\tfile\trepository\tcommit\tpath\tlicence"]
    copied = 0
    for repo in repos:
        key = _source_key(repo)
        source = SOURCES[key]
        commit = _git(repo, "rev-parse", "HEAD").decode().strip()
        folder = out / key
        folder.mkdir(exist_ok=True)
        for fmt, items in _candidates(repo, source).items():
            for object_id, path in _sample(items, caps.get(fmt, per_format)):
                data = _git(repo, "cat-file", "blob", object_id)
                if data.startswith(b"version https://git-lfs"):
                    continue  # a Git LFS pointer, not the file
                name = path.replace("/", "__")[-150:]
                (folder / name).write_bytes(data)
                rows.append(
                    f"{key}\t{name}\t{source.repository}\t{commit}\t{path}\t{source.licence}"
                )
                copied += 1
    (out / "SOURCES.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-format", type=int, default=150)
    parser.add_argument(
        "--cap", action="append", default=["pdf=400"], help="FORMAT=N, e.g. pdf=400"
    )
    args = parser.parse_args(argv)
    caps = {fmt: int(n) for fmt, n in (item.split("=", 1) for item in args.cap)}
    copied = build(args.repos, args.out, per_format=args.per_format, caps=caps)
    print(f"{copied} files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
