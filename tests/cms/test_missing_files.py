"""A stored file missing from the store (deleted, or moved away from the media directory) is a
404 saying the file is unavailable, never a 500: nothing is recorded for a download that did
not happen, one ERROR line names the asset and the file, and the asset's owner is told once a
day (an outside audit: a rep's download and a page preview answered FileNotFoundError)."""

import datetime
import io
import logging

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.test import Client, override_settings
from wagtail.documents import get_document_model
from wagtail.images import get_image_model

from accounts.roles import MARKETER, REP
from analytics.models import UsageEvent
from cms.missing_files import NOTICE_KIND
from cms.signals import asset_downloaded
from notifications.models import Notification
from tests.factories import make_asset, make_document, make_user, png_bytes

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}
UNAVAILABLE = "The file of this asset is missing from the library&#x27;s file store"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The "told today" guard and the page previews live in the cache; the ids of a
    rolled-back test are used again."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner():
    return make_user(role=MARKETER)


@pytest.fixture
def rep_client():
    client = Client(raise_request_exception=False)  # as in production: an error is a page
    client.force_login(make_user(role=REP))
    return client


def _remove(field_file) -> str:
    """Take the stored file away from the store, as moving it out of data/media does."""
    name = field_file.name
    field_file.storage.delete(name)
    assert not field_file.storage.exists(name)
    return name


def _notices():
    return list(Notification.objects.filter(kind=NOTICE_KIND).order_by("pk"))


def _missing_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and "stored file missing" in r.getMessage()
    ]


def test_a_reps_download_of_a_missing_file_says_so_records_nothing_and_tells_the_owner(
    rep_client, owner, caplog
):
    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"), owner=owner)
    name = _remove(asset.document.file)
    sent = []

    def receiver(sender, request, asset, **kwargs):
        sent.append(asset.pk)

    asset_downloaded.connect(receiver)
    try:
        with caplog.at_level(logging.ERROR):
            response = rep_client.get(f"/assets/{asset.pk}/download/", **BROWSER)
    finally:
        asset_downloaded.disconnect(receiver)
    assert response.status_code == 404
    text = response.content.decode()
    assert "This file is not available" in text and UNAVAILABLE in text
    assert "The library&#x27;s owners have been told." in text
    assert f'<a href="{asset.url}">Back to “Pricing deck”</a>' in text
    assert "Traceback" not in text and "FileNotFoundError" not in text
    assert sent == [] and not UsageEvent.objects.exists()
    assert _missing_lines(caplog) == [
        f"stored file missing: asset {asset.pk}, its file {name} (storage DiskStorage)"
    ]
    [notice] = _notices()
    assert notice.user == owner
    assert notice.text == (
        f"The file of “Pricing deck” is missing from the file store ({name}): reps and buyers "
        "who ask for it are told it is unavailable. Upload it again."
    )
    assert notice.url == f"/admin/pages/{asset.pk}/edit/"


def test_the_owner_is_told_once_a_day_however_often_the_file_is_asked_for(
    rep_client, owner, caplog, monkeypatch
):
    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"), owner=owner)
    _remove(asset.document.file)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            assert rep_client.get(f"/assets/{asset.pk}/download/").status_code == 404
        cache.clear()  # another process, or a restart: today's notification still says so
        assert rep_client.get(f"/assets/{asset.pk}/download/").status_code == 404
    assert len(_missing_lines(caplog)) == 4  # one line per request
    assert len(_notices()) == 1
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    monkeypatch.setattr("cms.missing_files.timezone.localdate", lambda: tomorrow)
    assert rep_client.get(f"/assets/{asset.pk}/download/").status_code == 404
    assert len(_notices()) == 2  # still missing the next day: told again


def test_an_asset_without_an_owner_who_can_act_tells_the_content_managers(rep_client):
    managers = [make_user(role=MARKETER), make_user(role=MARKETER)]
    asset = make_asset("Orphan", document=make_document("orphan.pdf"))
    _remove(asset.document.file)
    assert rep_client.get(f"/assets/{asset.pk}/download/").status_code == 404
    assert {notice.user for notice in _notices()} >= set(managers)


def test_a_script_asking_for_json_gets_json(rep_client, owner):
    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"), owner=owner)
    _remove(asset.document.file)
    response = rep_client.get(f"/assets/{asset.pk}/download/", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("The file of this asset is missing")


@override_settings(DEBUG=True)  # make run: no Django debug page either
def test_with_debug_on_the_missing_file_is_the_same_page_not_the_debug_page(rep_client, owner):
    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"), owner=owner)
    _remove(asset.document.file)
    response = rep_client.get(f"/assets/{asset.pk}/download/", **BROWSER)
    assert response.status_code == 404
    text = response.content.decode()
    assert UNAVAILABLE in text and "Django" not in text and "Traceback" not in text


def test_a_download_of_a_file_that_is_there_still_records_it(rep_client, owner):
    asset = make_asset("Pricing deck", document=make_document("pricing.pdf"), owner=owner)
    response = rep_client.get(f"/assets/{asset.pk}/download/")
    assert response.status_code == 200
    assert UsageEvent.objects.filter(asset=asset).count() == 1
    assert not _notices()


def test_a_missing_thumbnail_is_a_404_logged_and_told(rep_client, owner, caplog):
    document = make_document("deck.pdf", b"%PDF")
    document.thumbnail.save("thumb.png", ContentFile(png_bytes()), save=False)
    get_document_model().objects.filter(pk=document.pk).update(thumbnail=document.thumbnail.name)
    asset = make_asset("Deck", document=document, owner=owner)
    name = _remove(document.thumbnail)
    with caplog.at_level(logging.ERROR):
        response = rep_client.get(f"/assets/{asset.pk}/thumbnail/")
    assert response.status_code == 404
    assert _missing_lines(caplog) == [
        f"stored file missing: asset {asset.pk}, its thumbnail {name} (storage DiskStorage)"
    ]
    [notice] = _notices()
    assert notice.user == owner and notice.text.startswith("The thumbnail of “Deck” is missing")
    assert not UsageEvent.objects.exists()


def test_a_missing_thumbnail_image_is_a_404_logged_and_told(
    rep_client, owner, caplog, no_renditions_cached
):
    image = get_image_model().objects.create(
        title="cover", file=ImageFile(io.BytesIO(png_bytes("blue")), name="cover.png")
    )
    asset = make_asset("Deck", thumbnail_image=image, owner=owner)
    name = _remove(image.file)
    with caplog.at_level(logging.ERROR):
        response = rep_client.get(f"/assets/{asset.pk}/thumbnail/")
    assert response.status_code == 404
    assert _missing_lines(caplog) == [
        f"stored file missing: asset {asset.pk}, its thumbnail image {name} (storage DiskStorage)"
    ]
    [notice] = _notices()
    assert notice.text.startswith("The thumbnail image of “Deck” is missing")


def test_a_thumbnail_renditions_missing_file_is_a_404(
    rep_client, owner, caplog, no_renditions_cached
):
    image = get_image_model().objects.create(
        title="cover", file=ImageFile(io.BytesIO(png_bytes("blue")), name="cover.png")
    )
    asset = make_asset("Deck", thumbnail_image=image, owner=owner)
    assert rep_client.get(f"/assets/{asset.pk}/thumbnail/").status_code == 200
    rendition = image.renditions.get()
    name = _remove(rendition.file)
    with caplog.at_level(logging.ERROR):
        assert rep_client.get(f"/assets/{asset.pk}/thumbnail/").status_code == 404
    assert _missing_lines(caplog) == [
        f"stored file missing: asset {asset.pk}, its thumbnail image {name} (storage DiskStorage)"
    ]
    assert len(_notices()) == 1


def test_a_page_preview_of_a_missing_file_is_a_404_logged_and_told(
    rep_client, owner, caplog, django_capture_on_commit_callbacks
):
    from tests.cms.builders import make_pdf

    with django_capture_on_commit_callbacks(execute=True):
        pdf = make_document("plan.pdf", make_pdf(["Cover", "Prices"]))
    asset = make_asset("Plan", document=pdf, owner=owner)
    name = _remove(pdf.file)
    with caplog.at_level(logging.ERROR):
        response = rep_client.get(f"/assets/{asset.pk}/pages/2/preview/")
    assert response.status_code == 404
    assert _missing_lines(caplog) == [
        f"stored file missing: asset {asset.pk}, its file {name} (storage DiskStorage)"
    ]
    [notice] = _notices()
    assert notice.user == owner and notice.text.startswith("The file of “Plan” is missing")
    assert not UsageEvent.objects.exists()
    page = rep_client.get(f"{asset.url}?page=2").content.decode()
    assert 'data-unavailable="The picture of this page is not available."' in page


def test_an_admin_rendition_whose_file_is_missing_is_a_404_logged(caplog, no_renditions_cached):
    image = get_image_model().objects.create(
        title="cover", file=ImageFile(io.BytesIO(png_bytes()), name="cover.png")
    )
    rendition = image.get_rendition("max-165x165")
    name = _remove(rendition.file)
    client = Client(raise_request_exception=False)
    client.force_login(make_user(role=MARKETER))
    with caplog.at_level(logging.ERROR):
        assert client.get("/media/" + name).status_code == 404
    assert _missing_lines(caplog) == [
        f"stored file missing: image {image.pk}, its rendition {name} (storage DiskStorage)"
    ]
