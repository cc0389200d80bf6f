"""Files on S3 (django-storages + boto3) against moto's server: upload, presigned download
that expires, the admin's image previews, no public access, delete."""

from __future__ import annotations

import errno
import html
import logging
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import boto3
import botocore.exceptions
import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from wagtail.images import get_image_model

from accounts.roles import MARKETER
from cms.downloads import StoredFileMissing, stored_file_response
from cms.storage import file_missing, file_store_down
from enablement.env import s3_origins, s3_storage_from_env
from tests.factories import make_document, make_image, make_user

pytestmark = pytest.mark.django_db

BUCKET = "enablement-test"


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def public_host():
    """The bucket's host name as browsers reach it, when not the one the app uses."""
    return None


@pytest.fixture
def s3(moto_endpoint, settings, public_host):
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    storages = dict(settings.STORAGES)
    storages["default"] = s3_storage_from_env(
        environ={
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": moto_endpoint,
            "S3_ADDRESSING_STYLE": "path",
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            **(
                {"S3_PUBLIC_ENDPOINT_URL": moto_endpoint.replace("127.0.0.1", public_host)}
                if public_host
                else {}
            ),
        }
    )
    with override_settings(STORAGES=storages, S3_PRESIGN_SECONDS=60):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_uploaded_document_is_stored_in_the_bucket(s3):
    document = make_document("pricing.txt", b"Pricing for the Decide stage")
    assert document.file.name in _keys(s3)
    body = s3.get_object(Bucket=BUCKET, Key=document.file.name)["Body"].read()
    assert body == b"Pricing for the Decide stage"


def test_download_is_a_short_lived_presigned_redirect(s3):
    document = make_document("deck.txt", b"slide text")
    response = stored_file_response(document.file, filename="deck.txt")
    assert response.status_code == 302
    url = response["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    assert "X-Amz-Signature" in query
    assert query["response-content-disposition"] == ['attachment; filename="deck.txt"']
    with urllib.request.urlopen(url) as fetched:  # noqa: S310 - moto on loopback
        assert fetched.read() == b"slide text"


def test_a_download_name_outside_latin_1_reaches_the_browser_from_the_bucket(s3):
    """S3 sends back the disposition the presigned URL asks for: a name such as a German
    title goes as RFC 6266's encoded file name, which a bare quoted one could not carry."""
    document = make_document("kunde.pdf", b"%PDF-1.4", title="Größenordnung")
    response = stored_file_response(document.file, filename="Größenordnung.pdf")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(response["Location"]).query)
    expected = "attachment; filename*=utf-8''Gr%C3%B6%C3%9Fenordnung.pdf"
    assert query["response-content-disposition"] == [expected]
    with urllib.request.urlopen(response["Location"]) as fetched:  # noqa: S310 - moto on loopback
        assert fetched.headers["Content-Disposition"] == expected


def test_object_is_not_readable_without_a_signature(s3, moto_endpoint):
    document = make_document("secret.txt", b"internal only")
    unsigned = f"{moto_endpoint}/{BUCKET}/{document.file.name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned)  # noqa: S310 - moto on loopback
    assert refused.value.code == 403


def test_admin_image_previews_are_short_lived_presigned_urls_of_the_bucket(
    s3, moto_endpoint, client
):
    """On S3 the previews of Wagtail's image admin load from the bucket, by presigned URLs
    that live S3_PRESIGN_SECONDS (the Content-Security-Policy admits its origin); nothing
    under MEDIA_URL is asked (``cms.views.image_rendition`` serves them from local disk)."""
    renditions = get_image_model().get_rendition_model().cache_backend
    renditions.clear()  # ids of rolled-back tests are used again
    make_image("ok")
    client.force_login(make_user(role=MARKETER))
    listing = client.get(reverse("wagtailimages:index")).content.decode()
    renditions.clear()
    [url] = [html.unescape(src) for src in re.findall(r'src="([^"]*max-165x165[^"]*)"', listing)]
    assert url.startswith(f"{moto_endpoint}/{BUCKET}/images/ok.max-165x165")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    with urllib.request.urlopen(url) as fetched:  # noqa: S310 - moto on loopback
        assert fetched.read().startswith(b"\x89PNG")


def test_deleting_a_document_file_removes_the_object(s3):
    document = make_document("old.txt", b"outdated")
    name = document.file.name
    document.file.delete(save=False)
    document.delete()
    assert name not in _keys(s3)


# The same server under another name, as MinIO is "minio:9000" to the app inside the compose
# network and "localhost:9000" to a browser.
@pytest.mark.parametrize("public_host", ["localhost"])
def test_downloads_name_the_address_browsers_reach_when_it_differs(s3, moto_endpoint):
    document = make_document("deck.txt", b"slide text")
    url = stored_file_response(document.file, filename="deck.txt")["Location"]
    public = moto_endpoint.replace("127.0.0.1", "localhost")
    assert url.startswith(f"{public}/{BUCKET}/")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["X-Amz-SignedHeaders"] == ["host"] and "X-Amz-Signature" in query
    with urllib.request.urlopen(url) as fetched:  # noqa: S310 - moto on loopback
        assert fetched.read() == b"slide text"
    options = s3_storage_from_env(
        environ={
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": "http://minio:9000",
            "S3_PUBLIC_ENDPOINT_URL": "https://files.example.com",
        }
    )["OPTIONS"]
    assert s3_origins(options) == ["https://files.example.com"]  # what the CSP allows


# --- the file store down ------------------------------------------------------------------------
DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture
def store_down(s3, settings):
    """The bucket's server stops answering (what was stored stays in the database)."""
    storages = dict(settings.STORAGES)
    storages["default"] = s3_storage_from_env(
        environ={"S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": DEAD, "S3_ADDRESSING_STYLE": "path"}
    )
    storages["default"]["OPTIONS"].update(access_key="testing", secret_key="testing")
    return override_settings(STORAGES=storages)


def test_a_page_preview_with_the_store_down_is_a_503_saying_so(
    s3, store_down, django_capture_on_commit_callbacks
):
    from accounts.roles import REP
    from tests.cms.builders import make_pdf
    from tests.factories import make_asset, make_user

    with django_capture_on_commit_callbacks(execute=True):
        pdf = make_document("terms.pdf", make_pdf(["Indemnification", "Warranty"]))
        asset = make_asset("Legal terms", document=pdf)
    client = Client()
    client.force_login(make_user(role=REP))
    assert client.get(f"/assets/{asset.pk}/pages/1/preview/").status_code == 200
    with store_down:
        response = client.get(f"/assets/{asset.pk}/pages/2/preview/")
    assert response.status_code == 503
    assert "The file store is not available" in response.content.decode()
    assert response["Retry-After"]


@pytest.fixture
def store_hung(s3, settings):
    """The bucket's server takes connections and never answers (frozen, or its disk stuck),
    with S3_TIMEOUT_SECONDS=1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel completes the connections; nobody reads or answers
    host, port = listener.getsockname()
    storages = dict(settings.STORAGES)
    storages["default"] = s3_storage_from_env(
        environ={
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": f"http://{host}:{port}",
            "S3_ADDRESSING_STYLE": "path",
            "S3_TIMEOUT_SECONDS": "1",
        }
    )
    storages["default"]["OPTIONS"].update(access_key="testing", secret_key="testing")
    yield override_settings(STORAGES=storages)
    listener.close()


def test_a_store_that_never_answers_is_a_503_in_seconds_not_a_stuck_worker(
    s3, store_hung, django_capture_on_commit_callbacks
):
    """Before, botocore's defaults (60 s per read, tried again) held the request past
    gunicorn's timeout, which killed the worker and showed its bare error page."""
    from accounts.roles import REP
    from tests.cms.builders import make_pdf
    from tests.factories import make_asset

    with django_capture_on_commit_callbacks(execute=True):
        asset = make_asset("Legal terms", document=make_document("terms.pdf", make_pdf(["A"])))
    client = Client()
    client.force_login(make_user(role=REP))
    started = time.monotonic()
    with store_hung:
        response = client.get(f"/assets/{asset.pk}/pages/1/preview/")
    assert response.status_code == 503 and response["Retry-After"]
    assert "The file store is not available" in response.content.decode()
    assert time.monotonic() - started < 20  # two tries of 1 s, not minutes


def test_a_buyers_download_with_the_store_down_is_the_buyers_own_page(s3, store_down):
    """A buyer is never shown the library's error page, whose way back leads to its sign-in."""
    from accounts.roles import REP
    from analytics.usage import share_link_create
    from tests.analytics.helpers import walk_deal
    from tests.factories import make_asset

    rep = make_user(role=REP)
    deal = walk_deal("006S3", ["discover"], owner=rep.username)
    asset = make_asset("Pricing one-pager", document=make_document("pricing.txt", b"price"))
    _, token = share_link_create(user=rep, asset=asset, deal=deal)
    with store_down:
        answer = Client(HTTP_ACCEPT="text/html").get(f"/s/{token}/{asset.pk}/file/")
    assert answer.status_code == 503 and answer["Retry-After"]
    page = answer.content.decode()
    assert "cannot be fetched at the moment" in page and "Pricing one-pager" in page
    assert "Back to the library" not in page and f'href="/s/{token}/"' in page


@pytest.mark.django_db(transaction=True)  # as in production: the failed request's own transaction
def test_an_upload_with_the_store_down_is_a_503_and_nothing_is_saved(s3, store_down, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from wagtail.documents import get_document_model

    before = get_document_model().objects.count()
    with store_down:
        response = admin_client.post(
            reverse("wagtaildocs:add_multiple"),
            {"files[]": SimpleUploadedFile("pitch.txt", b"Prices rise in March")},
        )
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert get_document_model().objects.count() == before


def test_processing_with_the_store_down_says_so_for_the_retry(s3, store_down):
    from cms.documents import document_process
    from cms.models import LibraryDocument

    document = make_document("notes.txt", b"walrus")
    with store_down, pytest.raises(Exception, match="Could not connect"):
        document_process(document_id=document.pk)
    document.refresh_from_db()
    assert document.extraction_status == LibraryDocument.Status.FAILED
    assert document.extraction_error.startswith("The file store did not answer")


def test_a_file_the_store_did_not_hand_over_is_processed_again_once_it_is_back(s3, store_down):
    """Nobody has to press "Process again" after an outage (an outside audit found such a
    document still failed, and its text out of search, long after the store was back)."""
    from cms.documents import (
        STORE_DOWN_RETRIES,
        STORE_DOWN_RETRY_AFTER,
        document_process,
        documents_stuck_retry,
    )
    from cms.models import LibraryDocument

    document = make_document("notes.txt", b"walrus migration")
    with store_down, pytest.raises(Exception, match="Could not connect"):
        document_process(document_id=document.pk)
    assert documents_stuck_retry() == []  # not yet: the store is rarely back at once
    failed = LibraryDocument.objects.filter(pk=document.pk)
    failed.update(processed_at=timezone.now() - STORE_DOWN_RETRY_AFTER - timedelta(seconds=1))
    assert documents_stuck_retry() == [document.pk]
    document_process(document_id=document.pk)  # the task the scheduler enqueues
    document.refresh_from_db()
    assert document.extraction_status == LibraryDocument.Status.DONE
    assert "walrus" in document.extracted_text
    # A store down for longer than the retries cover waits for "Process again".
    with store_down, pytest.raises(Exception, match="Could not connect"):
        document_process(document_id=document.pk)
    failed.update(
        processed_at=timezone.now() - STORE_DOWN_RETRY_AFTER - timedelta(seconds=1),
        automatic_retries=STORE_DOWN_RETRIES,
    )
    assert documents_stuck_retry() == []


def _answer(status: int, code: str) -> botocore.exceptions.ClientError:
    response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return botocore.exceptions.ClientError(response, "GetObject")


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (botocore.exceptions.EndpointConnectionError(endpoint_url=DEAD), True),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url=DEAD), True),
        (_answer(503, "SlowDown"), True),
        (_answer(404, "NoSuchKey"), False),
        (_answer(403, "AccessDenied"), False),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (PermissionError(errno.EACCES, "Permission denied"), True),  # chmod/chattr on media
        (FileNotFoundError(errno.ENOENT, "gone"), False),
        (ValueError("a bug"), False),
    ],
)
def test_the_store_being_down_is_told_from_a_missing_file(error, down):
    assert file_store_down(error) is down


@pytest.mark.parametrize(
    ("error", "missing"),
    [
        (_answer(404, "NoSuchKey"), True),
        (_answer(404, "404"), True),  # a HEAD's answer has no body to name the code
        (FileNotFoundError(errno.ENOENT, "gone"), True),
        (_answer(403, "AccessDenied"), False),
        (_answer(503, "SlowDown"), False),
        (botocore.exceptions.EndpointConnectionError(endpoint_url=DEAD), False),
        (OSError(errno.ENOSPC, "No space left on device"), False),
        (None, False),
    ],
)
def test_a_missing_file_is_told_from_the_store_being_down(error, missing):
    assert file_missing(error) is missing


def test_a_download_of_an_object_gone_from_the_bucket_is_the_unavailable_page(s3, caplog):
    """Not a redirect to the bucket's own "NoSuchKey" error: the object is asked for first."""
    from accounts.roles import REP
    from analytics.models import UsageEvent
    from tests.factories import make_asset

    document = make_document("deck.txt", b"slide text")
    asset = make_asset("Deck", document=document)
    s3.delete_object(Bucket=BUCKET, Key=document.file.name)
    with pytest.raises(StoredFileMissing):
        stored_file_response(document.file, filename="deck.txt")
    client = Client()
    client.force_login(make_user(role=REP))
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/assets/{asset.pk}/download/")
    assert response.status_code == 404
    assert "This file is not available" in response.content.decode()
    assert not UsageEvent.objects.exists()
    assert f"its file {document.file.name} (storage BucketStorage)" in caplog.text
