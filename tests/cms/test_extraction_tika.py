"""Formats read through an Apache Tika server (``TIKA_URL``): Word 97-2003, PowerPoint 97-2003
(page by slide), Excel 97-2003, OpenDocument, RTF and Outlook messages; and what happens when no
server is configured or the server does not answer.

The real server tests need ``TIKA_TEST_URL`` (CI starts one with ``.ci/tika.sh start``);
without it they skip here and fail in CI.
"""

from __future__ import annotations

import os
import socket

import pytest

from cms.extraction import ExtractionError, Limits, extract, unsupported_reason
from tests.cms.builders import FIXTURES

TIKA_URL = os.environ.get("TIKA_TEST_URL", "")
needs_tika = pytest.mark.skipif(
    not TIKA_URL, reason="TIKA_TEST_URL is not set (start one with .ci/tika.sh start)"
)
pytestmark = pytest.mark.service


def read(name: str, *, url: str = TIKA_URL, fixture: str | None = None):
    path = FIXTURES / (fixture or name)
    return extract(path, filename=name, limits=Limits(tika_url=url, tika_seconds=30))


@needs_tika
@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("legacy.doc", "Sample Word Document"),
        ("legacy.xls", "Sample Excel Worksheet"),
        ("legacy.rtf", "Test d’indexation Word"),  # non-ASCII text survives the round trip
        ("opendocument.odt", "Tika is part of the Lucene project"),
        ("mail.msg", "Microsoft Outlook"),
    ],
)
def test_formats_python_reads_badly_are_read_by_tika(fixture, expected):
    result = read(fixture)

    assert expected in result.text
    assert result.thumbnail.startswith(b"\x89PNG")


@needs_tika
def test_a_legacy_deck_is_read_slide_by_slide():
    result = read("three-slides.ppt")

    assert result.page_count == 3
    assert [(page.number, page.text.splitlines()[0]) for page in result.pages] == [
        (1, "Slide 1"), (2, "Slide 2"), (3, "Slide 3"),
    ]  # fmt: skip
    assert "Second slide I added" in result.pages[2].text
    assert "Sample Powerpoint Slide" in read("legacy.ppt").text


@needs_tika
def test_a_password_protected_legacy_file_has_protected_status(tmp_path):
    # Tika's own encrypted .doc would do; an encrypted .docx renamed .doc goes to Tika too.
    locked = tmp_path / "locked.doc"
    locked.write_bytes((FIXTURES / "protected-word.docx").read_bytes())

    with pytest.raises(ExtractionError, match="protected by a password") as error:
        extract(locked, filename="locked.doc", limits=Limits(tika_url=TIKA_URL))

    assert error.value.status == "protected"


@needs_tika
def test_a_damaged_legacy_file_says_so(tmp_path):
    broken = tmp_path / "broken.doc"
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"garbage" * 10)

    with pytest.raises(ExtractionError, match="damaged"):
        extract(broken, filename="broken.doc", limits=Limits(tika_url=TIKA_URL))


def test_without_a_tika_server_legacy_formats_are_stored_and_say_how_to_make_them_searchable():
    reason = unsupported_reason("old.ppt", Limits(tika_url=""))

    assert "Apache Tika server is configured (TIKA_URL)" in reason
    assert unsupported_reason("old.ppt", Limits(tika_url="http://tika:9998")) is None


def test_a_tika_server_that_does_not_answer_fails_the_file_with_a_clear_message():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(
        ExtractionError, match=r"Apache Tika at http://127.0.0.1:\d+\) did not answer"
    ):
        read("legacy.doc", url=f"http://127.0.0.1:{port}")


@pytest.mark.parametrize("count", ["²", "9" * 5000, "12", 7])
def test_a_page_count_in_the_metadata_is_read_only_when_it_is_a_number(
    tmp_path, monkeypatch, count
):
    from cms.extraction import tika

    answer = [{"X-TIKA:content": "<html><body><p>Field notes</p></body></html>"}]
    answer[0]["meta:page-count"] = count
    monkeypatch.setattr(tika, "_request", lambda path, filename, limits: answer)
    path = tmp_path / "notes.odt"
    path.write_bytes(b"not read: the server's answer is faked")
    extraction = tika.read_with_tika(
        path, filename="notes.odt", limits=Limits(tika_url="http://tika:9998"), label="ODT"
    )
    assert "Field notes" in extraction.text
    assert extraction.page_count == {"12": 12, 7: 7}.get(count)
