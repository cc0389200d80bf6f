"""The rep portal: library listings, the browse grid, filters, the asset page, downloads,
thumbnails, and team restrictions on every one of those paths."""

import datetime
import io
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.http import Http404
from django.utils import timezone
from PIL import Image as PILImage
from wagtail.documents import get_document_model
from wagtail.images import get_image_model

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from cms.downloads import document_download_name
from cms.models import Industry, Product
from cms.signals import asset_downloaded, asset_viewed
from tests.factories import (
    PASSWORD,
    library_root,
    make_asset,
    make_document,
    make_section,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db


def _png_bytes(color="red") -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _cell(response, stage: str, pillar: str) -> int:
    for row in response.context["grid"]:
        for cell in row["cells"]:
            if cell["stage"].slug == stage and cell["pillar"].slug == pillar:
                return cell["count"]
    raise AssertionError(f"no cell {stage} x {pillar}")


def _listed_titles(response) -> set[str]:
    return {asset.title for asset in response.context["assets"]}


@pytest.fixture
def rep(client):
    user = make_user(role=REP)
    _login(client, user)
    return user


# --- Library page ------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_from_the_library(client):
    library_root()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_home_redirects_to_the_library(client, rep):
    response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"] == library_root().url


def test_grid_counts_assets_per_stage_and_pillar(client, rep):
    make_asset("Why change", stages=["discover"], pillars=["why-buy"])
    make_asset("Two cells", stages=["discover", "evaluate"], pillars=["why-buy"])
    make_asset("Now", stages=["decide"], pillars=["why-buy-now"])
    response = client.get("/")
    assert _cell(response, "discover", "why-buy") == 2
    assert _cell(response, "evaluate", "why-buy") == 1
    assert _cell(response, "decide", "why-buy-now") == 1
    assert _cell(response, "onboard", "why-buy-you") == 0
    html = response.content.decode()
    assert 'class="coverage-grid"' in html
    assert 'data-stage="discover" data-pillar="why-buy" data-count="2"' in html


def test_grid_rows_follow_the_journey_order_and_columns_the_pillars(client, rep):
    response = client.get("/")
    stages = [row["stage"].slug for row in response.context["grid"]]
    pillars = [cell["pillar"].slug for cell in response.context["grid"][0]["cells"]]
    assert stages == ["discover", "evaluate", "decide", "onboard"]
    assert pillars == ["why-buy", "why-buy-you", "why-buy-now"]


def test_grid_cell_link_lists_only_that_cells_assets(client, rep):
    make_asset("In cell", stages=["evaluate"], pillars=["why-buy-you"])
    make_asset("Other stage", stages=["discover"], pillars=["why-buy-you"])
    response = client.get("/")
    assert '<a href="?stage=evaluate&amp;pillar=why-buy-you"' in response.content.decode()
    response = client.get("/?stage=evaluate&pillar=why-buy-you")
    assert _listed_titles(response) == {"In cell"}


def test_listing_filters_by_type_product_and_industry(client, rep):
    cloud = Product.objects.create(name="Cloud")
    health = Industry.objects.create(name="Healthcare")
    deck = make_asset("Cloud deck", asset_type="deck")
    deck.products.add(cloud)
    deck.save()
    study = make_asset("Hospital case study", asset_type="case-study")
    study.industries.add(health)
    study.save()
    make_asset("Other deck", asset_type="deck")

    assert _listed_titles(client.get("/?type=deck")) == {"Cloud deck", "Other deck"}
    assert _listed_titles(client.get("/?product=cloud")) == {"Cloud deck"}
    assert _listed_titles(client.get("/?industry=healthcare")) == {"Hospital case study"}
    assert _listed_titles(client.get("/?type=deck&product=cloud")) == {"Cloud deck"}


def test_grid_counts_follow_the_type_filter(client, rep):
    make_asset("Deck", asset_type="deck")
    make_asset("Battlecard", asset_type="battlecard")
    assert _cell(client.get("/?type=battlecard"), "discover", "why-buy") == 1
    assert _cell(client.get("/"), "discover", "why-buy") == 2


def test_unknown_filter_value_is_named_and_ignored(client, rep):
    make_asset("Deck")
    response = client.get("/?product=no-such-product")
    assert "No product named “no-such-product”" in response.content.decode()
    assert _listed_titles(response) == {"Deck"}


def test_filter_value_is_escaped_in_the_page(client, rep):
    response = client.get("/?industry=<script>alert(1)</script>")
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_asset_cards_show_title_type_stage_pillar_and_summary(client, rep):
    make_asset("ROI model", asset_type="roi-calculator", summary="Payback in six months")
    html = client.get("/").content.decode()
    for text in ["ROI model", "ROI calculator", "Discover", "Why Buy?", "Payback in six months"]:
        assert text in html


def test_library_lists_sub_sections_the_rep_may_open(client, rep):
    emea = make_team("EMEA")
    make_section("Competitive")
    make_section("EMEA only", teams=[emea])
    sections = [section.title for section in client.get("/").context["sections"]]
    assert sections == ["Competitive"]


def test_section_page_lists_only_its_own_assets(client, rep):
    section = make_section("Competitive")
    make_asset("Battlecard", parent=section)
    make_asset("Elsewhere")
    assert _listed_titles(client.get(section.url)) == {"Battlecard"}


def test_listing_paginates(client, rep):
    for number in range(26):
        make_asset(f"Asset {number}")
    first = client.get("/")
    assert len(first.context["assets"]) == 24
    assert first.context["asset_count"] == 26
    assert len(client.get("/?page=2").context["assets"]) == 2


# --- Restrictions on every rep path -------------------------------------------------------


@pytest.fixture
def restricted_assets():
    """An asset restricted to EMEA, an asset in a section restricted to EMEA, an open one."""
    emea = make_team("EMEA")
    section = make_section("EMEA deals", teams=[emea])
    document = make_document("pricing.txt", b"EMEA prices")
    return {
        "team": emea,
        "asset_level": make_asset("EMEA pricing", teams=[emea], document=document),
        "section_level": make_asset("EMEA playbook", parent=section, document=document),
        "open": make_asset("Global overview", document=document),
    }


def _set_document_thumbnail(document):
    Document = get_document_model()
    document.thumbnail.save("thumb.png", ContentFile(_png_bytes()), save=False)
    Document.objects.filter(pk=document.pk).update(thumbnail=document.thumbnail.name)


@pytest.mark.parametrize("level", ["asset_level", "section_level"])
def test_rep_outside_team_cannot_reach_restricted_asset_anywhere(client, restricted_assets, level):
    outsider = make_user(role=REP)
    _login(client, outsider)
    asset = restricted_assets[level]
    _set_document_thumbnail(asset.document)

    listing = client.get("/")
    assert asset.title not in _listed_titles(listing)
    assert asset.title not in listing.content.decode()
    assert _cell(listing, "discover", "why-buy") == 1  # only the open asset
    assert client.get(asset.url).status_code == 404
    assert client.get(f"/assets/{asset.id}/download/").status_code == 404
    assert client.get(f"/assets/{asset.id}/thumbnail/").status_code == 404


@pytest.mark.parametrize("level", ["asset_level", "section_level"])
def test_rep_inside_team_reaches_restricted_asset_everywhere(client, restricted_assets, level):
    insider = make_user(role=REP, teams=[restricted_assets["team"]])
    _login(client, insider)
    asset = restricted_assets[level]
    _set_document_thumbnail(asset.document)

    listing = client.get("/")
    assert asset.title in _listed_titles(listing)
    assert _cell(listing, "discover", "why-buy") == 3
    assert client.get(asset.url).status_code == 200
    download = client.get(f"/assets/{asset.id}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"EMEA prices"
    assert client.get(f"/assets/{asset.id}/thumbnail/").status_code == 200


def test_rep_outside_team_cannot_open_a_restricted_section(client, restricted_assets):
    _login(client, make_user(role=REP))
    section = restricted_assets["section_level"].get_parent()
    assert client.get(section.url).status_code == 404


def test_marketer_sees_restricted_assets(client, restricted_assets):
    _login(client, make_user(role=MARKETER))
    assert _cell(client.get("/"), "discover", "why-buy") == 3


def test_expired_asset_disappears_for_reps(client, rep):
    from datetime import timedelta

    from django.utils import timezone

    asset = make_asset("Old promo")
    type(asset).objects.filter(pk=asset.pk).update(expire_at=timezone.now() - timedelta(hours=1))
    assert "Old promo" not in _listed_titles(client.get("/"))
    assert client.get(asset.url).status_code == 404
    assert client.get(f"/assets/{asset.id}/download/").status_code == 404


def test_archived_asset_disappears_for_reps(client, rep):
    asset = make_asset("Retired deck", archived=True)
    assert "Retired deck" not in _listed_titles(client.get("/"))
    assert _cell(client.get("/"), "discover", "why-buy") == 0
    assert client.get(asset.url).status_code == 404


def test_unpublished_asset_is_not_shown(client, rep):
    make_asset("Draft", publish=False)
    assert "Draft" not in _listed_titles(client.get("/"))


# --- Asset page ----------------------------------------------------------------------------


def test_asset_page_shows_placement_owner_review_status_and_download(client, rep):
    owner = make_user("olivia", first_name="Olivia", last_name="Owner")
    document = make_document("deck.pdf", b"%PDF-1.4 fake")
    asset = make_asset(
        "Pricing deck",
        document=document,
        owner=owner,
        body="<p>How to <b>price</b> it</p>",
        stages=["decide"],
        pillars=["why-buy-now"],
    )
    html = client.get(asset.url).content.decode()
    for text in ["Pricing deck", "Deck", "Decide", "Why Buy Now?", "Olivia Owner", "<b>price</b>"]:
        assert text in html
    assert f'href="/assets/{asset.id}/download/">Download</a>' in html
    assert "next review by" in html


def test_asset_page_flags_an_overdue_review(client, rep):
    import datetime

    asset = make_asset("Stale deck", review_by=datetime.date(2020, 1, 1))
    assert "Review overdue since 1 Jan 2020" in client.get(asset.url).content.decode()


def test_link_asset_offers_open_link_instead_of_download(client, rep):
    asset = make_asset("Demo video", external_url="https://video.example.com/demo")
    html = client.get(asset.url).content.decode()
    assert f'href="/assets/{asset.id}/open/"' in html
    assert "Open link" in html
    assert f"/assets/{asset.id}/download/" not in html


def test_opening_a_link_asset_goes_to_its_address_and_counts_as_its_download(client, rep):
    """The button linked straight out, so a video's use was never counted."""
    from analytics.models import EventKind, UsageEvent

    video = make_asset("Demo video", external_url="https://video.example.com/demo")
    opened = client.get(f"/assets/{video.id}/open/")
    assert (opened.status_code, opened["Location"]) == (302, "https://video.example.com/demo")
    used = UsageEvent.objects.get(asset=video)
    assert (used.kind, used.user) == (EventKind.DOWNLOADED, rep)
    deck = make_asset("Deck without a link")
    assert client.get(f"/assets/{deck.id}/open/").status_code == 404
    hidden = make_asset(
        "EMEA video", external_url="https://v.example.com/x", teams=[make_team("EMEA")]
    )
    assert client.get(f"/assets/{hidden.id}/open/").status_code == 404
    assert UsageEvent.objects.count() == 1


def test_asset_page_shows_a_placeholder_without_thumbnail(client, rep):
    asset = make_asset("Plain deck")
    html = client.get(asset.url).content.decode()
    assert "thumb-placeholder" in html
    assert f"/assets/{asset.id}/thumbnail/" not in html


def test_related_assets_share_a_stage_and_a_pillar_and_are_visible(client, rep):
    secret = make_team("Secret")
    asset = make_asset("Main", stages=["discover", "evaluate"], pillars=["why-buy"])
    make_asset("Same cell", stages=["evaluate"], pillars=["why-buy"])
    make_asset("Same stage other pillar", stages=["discover"], pillars=["why-buy-you"])
    make_asset("Same pillar other stage", stages=["onboard"], pillars=["why-buy"])
    make_asset("Hidden same cell", stages=["discover"], pillars=["why-buy"], teams=[secret])
    response = client.get(asset.url)
    assert [related.title for related in response.context["related"]] == ["Same cell"]


def test_viewing_an_asset_sends_asset_viewed_once(client, rep):
    asset = make_asset("Deck")
    seen = []

    def receiver(sender, request, asset, **kwargs):
        seen.append(asset.pk)

    asset_viewed.connect(receiver)
    try:
        client.get(asset.url)
    finally:
        asset_viewed.disconnect(receiver)
    assert seen == [asset.pk]


def test_refused_asset_sends_no_asset_viewed(client, rep):
    asset = make_asset("Secret deck", teams=[make_team("Secret")])
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs["asset"].pk)

    asset_viewed.connect(receiver)
    try:
        assert client.get(asset.url).status_code == 404
    finally:
        asset_viewed.disconnect(receiver)
    assert seen == []


# --- Downloads, thumbnails and Wagtail's document URLs --------------------------------------


def test_download_is_an_attachment_and_sends_asset_downloaded(client, rep):
    document = make_document("brief.txt", b"the brief")
    asset = make_asset("Brief", document=document)
    sent = []

    def receiver(sender, request, asset, **kwargs):
        sent.append((asset.pk, request.user.pk))

    asset_downloaded.connect(receiver)
    try:
        response = client.get(f"/assets/{asset.id}/download/")
    finally:
        asset_downloaded.disconnect(receiver)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert "brief.txt" in response["Content-Disposition"]
    assert sent == [(asset.pk, rep.pk)]


def test_a_download_is_named_after_the_document_not_the_stores_renamed_copy(client, rep):
    """The second upload of a name is stored as "whitepaper_v2_<random>.pdf"; the rep's
    download is saved as the document's title (a buyer's: tests/analytics/test_share_links)."""
    make_document("whitepaper_v2.pdf", b"%PDF-1.4 first", title="first upload")
    document = make_document("whitepaper_v2.pdf", b"%PDF-1.4 second", title="Whitepaper v2")
    assert document.file.name != "documents/whitepaper_v2.pdf"
    asset = make_asset("Whitepaper", document=document)
    response = client.get(f"/assets/{asset.id}/download/")
    assert response["Content-Disposition"] == 'attachment; filename="Whitepaper v2.pdf"'


@pytest.mark.parametrize(
    "title, stored, expected",
    [
        ("Q3 pricing.PDF", "q3.pdf", "Q3 pricing.PDF"),
        ("<img src=x onerror=alert(1)>", "img.pdf", "img src=x onerror=alert(1).pdf"),
        ('../../etc/passwd "quoted"\r\n', "p.txt", "etc passwd quoted.txt"),
        ("Größenordnung Übersicht", "g.pdf", "Größenordnung Übersicht.pdf"),
        ("///", "kept_aB3dE9x.pptx", "kept_aB3dE9x.pptx"),
    ],
)
def test_download_names_keep_the_title_without_what_file_systems_refuse(title, stored, expected):
    document = SimpleNamespace(title=title, file=SimpleNamespace(name=f"documents/{stored}"))
    assert document_download_name(document) == expected


def test_a_title_outside_latin_1_is_sent_as_an_encoded_file_name(client, rep):
    document = make_document("kunde.pdf", b"%PDF-1.4", title="Größenordnung")
    asset = make_asset("Kunde", document=document)
    response = client.get(f"/assets/{asset.id}/download/")
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Gr%C3%B6%C3%9Fenordnung.pdf"
    )


def test_download_of_an_asset_without_file_is_404(client, rep):
    asset = make_asset("Link only", external_url="https://example.com/x")
    assert client.get(f"/assets/{asset.id}/download/").status_code == 404


def test_download_needs_login(client):
    asset = make_asset("Brief", document=make_document())
    response = client.get(f"/assets/{asset.id}/download/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_download_of_unknown_asset_is_404(client, rep):
    assert client.get("/assets/999999/download/").status_code == 404


def test_thumbnail_serves_the_documents_thumbnail_inline(client, rep):
    document = make_document("deck.pdf", b"%PDF")
    _set_document_thumbnail(document)
    asset = make_asset("Deck", document=document)
    response = client.get(f"/assets/{asset.id}/thumbnail/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert f"/assets/{asset.id}/thumbnail/" in client.get(asset.url).content.decode()


def test_thumbnail_prefers_the_thumbnail_image(client, rep):
    image = get_image_model().objects.create(
        title="cover", file=ImageFile(io.BytesIO(_png_bytes("blue")), name="cover.png")
    )
    asset = make_asset("Deck", thumbnail_image=image)
    response = client.get(f"/assets/{asset.id}/thumbnail/")
    assert response.status_code == 200
    served = PILImage.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB")
    assert served.getpixel((1, 1)) == (0, 0, 255)


def test_thumbnail_without_any_image_is_404(client, rep):
    asset = make_asset("Deck", document=make_document())
    assert client.get(f"/assets/{asset.id}/thumbnail/").status_code == 404


def test_wagtail_document_url_is_a_404_for_reps_and_anonymous_as_for_a_wrong_id(client, rep):
    document = make_document("secret.txt", b"secret")
    make_asset("Secret", document=document, teams=[make_team("Secret")])
    url = document.url
    assert url.startswith("/documents/")
    wrong_id = f"/documents/{document.pk + 1000}/secret.txt"
    for signed_in in (True, False):
        if not signed_in:
            client.logout()
        refused, missing = client.get(url), client.get(wrong_id)
        assert refused.status_code == missing.status_code == 404
        assert refused.content == missing.content
        assert b"secret" not in refused.content


@pytest.mark.parametrize("name", ["asset_download", "asset_thumbnail", "asset_page_preview"])
def test_a_restricted_asset_and_a_missing_one_are_the_same_404(rf, name):
    from cms import views

    view = getattr(views, name)
    extra = {"number": 1} if name == "asset_page_preview" else {}
    rep = make_user(role=REP)
    hidden = make_asset("Secret", document=make_document(), teams=[make_team("Secret")])
    said = []
    for asset_id in (hidden.pk, hidden.pk + 1000):
        request = rf.get("/")
        request.user = rep
        with pytest.raises(Http404) as refused:
            view(request, asset_id=asset_id, **extra)
        said.append(str(refused.value))
    assert said == ["No such asset", "No such asset"]


def test_wagtail_document_url_serves_content_managers(client):
    document = make_document("brief.txt", b"brief")
    _login(client, make_user(role=MARKETER))
    response = client.get(document.url)
    assert response.status_code == 200


def test_media_files_are_not_served_from_a_public_url(client, rep):
    document = make_document("brief.txt", b"brief")
    response = client.get("/media/" + document.file.name)
    assert response.status_code == 404


def test_content_manager_previews_a_draft_asset_without_recording_a_view(rf):
    asset = make_asset("Draft deck", publish=False)
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs["asset"].pk)

    request = rf.get("/")
    request.user = make_user(role=MARKETER)
    request.is_preview = True
    asset_viewed.connect(receiver)
    try:
        response = asset.serve(request)
        response.render()
    finally:
        asset_viewed.disconnect(receiver)
    assert response.status_code == 200
    assert b"Draft deck" in response.content
    assert seen == []


def test_a_reviewers_preview_shows_what_the_live_page_shows(client):
    """Wagtail renders previews from the template alone: the lead approving an asset saw
    "No owner", "Current, next review by…" for an overdue asset, and no related assets."""
    owner = make_user(role=MARKETER, first_name="Priya", last_name="Nair")
    overdue = timezone.localdate() - datetime.timedelta(days=4)
    make_asset("Pricing one-pager", owner=owner)
    asset = make_asset("Pricing deck", owner=owner, review_by=overdue)
    asset.title = "Pricing deck, revised"
    revision = asset.save_revision(user=owner)
    _login(client, make_user(role=ENABLEMENT_LEAD))

    body = client.get(f"/admin/pages/{asset.pk}/revisions/{revision.pk}/view/").content.decode()
    assert "Pricing deck, revised" in body and "Priya Nair" in body
    assert f"Review overdue since {overdue:%-d %b %Y}" in body
    assert "Pricing one-pager" in body  # related: the same stage and pillar


@pytest.mark.parametrize("made_of", ["nothing", "file", "link"])
def test_a_new_asset_previews_before_it_is_first_saved(rf, made_of):
    """The editor's preview of an asset not saved yet was a server error (the rep's panel
    looked up the asset's field credit, and the page its download, link and thumbnail
    addresses, by an id it does not have yet). A preview offers the revision's own file and
    link (the file by Wagtail's address, for content managers), not the live asset's."""
    from cms.models import AssetPage, AssetType, BuyerStage, Pillar
    from tests.factories import library_root

    make_asset("Pricing one-pager")
    parent = library_root()
    asset = AssetPage(title="Pricing deck", summary="New", asset_type=AssetType.objects.first())
    asset.stages = list(BuyerStage.objects.filter(slug="discover"))
    asset.pillars = list(Pillar.objects.filter(slug="why-buy"))
    asset.path, asset.depth = parent.path + "9999", parent.depth + 1  # as Wagtail's preview
    offered = ""
    if made_of == "file":
        asset.document = make_document("deck.txt", b"the deck")
        offered = f'href="{asset.document.url}"'
        asset.thumbnail_image = get_image_model().objects.create(
            title="cover", file=ImageFile(io.BytesIO(_png_bytes("blue")), name="cover.png")
        )
    elif made_of == "link":
        asset.external_url = "https://video.example.com/new"
        offered = 'href="https://video.example.com/new"'
    request = rf.get("/")
    request.user, request.is_preview, request.session = make_user(role=MARKETER), True, {}
    response = asset.serve_preview(request, "")
    response.render()
    body = response.content.decode()
    assert response.status_code == 200
    assert "Pricing deck" in body and "Pricing one-pager" in body  # related assets
    assert offered in body


def test_a_revision_preview_offers_the_revisions_link_and_records_no_use(client):
    """The reviewer's "Open link" went through the live asset's address: the live link (not
    the one under review), a 404 for a draft, and a recorded use."""
    from analytics.models import UsageEvent

    video = make_asset("Demo video", external_url="https://video.example.com/v1")
    video.external_url = "https://video.example.com/v2"
    revision = video.save_revision()
    _login(client, make_user(role=ENABLEMENT_LEAD))
    body = client.get(f"/admin/pages/{video.pk}/revisions/{revision.pk}/view/").content.decode()
    assert 'href="https://video.example.com/v2"' in body and "/open/" not in body
    assert not UsageEvent.objects.exists()


def test_a_sections_preview_lists_its_assets_as_the_live_page_does(client):
    """A library section's preview goes through its view, as an asset's does: the template
    alone lists no assets and no sub-sections."""
    section = make_section("Competitive")
    make_asset("Battlecard", parent=section)
    make_section("Analyst reports", parent=section)
    section.intro = "Revised intro"
    revision = section.save_revision()
    _login(client, make_user(role=ENABLEMENT_LEAD))
    body = client.get(f"/admin/pages/{section.pk}/revisions/{revision.pk}/view/").content.decode()
    assert "Revised intro" in body
    assert "Battlecard" in body and "Analyst reports" in body


def test_rep_cannot_preview_a_draft_asset(rf):
    from django.http import Http404

    asset = make_asset("Draft deck", publish=False)
    request = rf.get("/")
    request.user = make_user(role=REP)
    request.is_preview = True
    with pytest.raises(Http404):
        asset.serve(request)


# --- Rich text: nothing from a third-party host ----------------------------------------------


def test_the_rich_text_editor_offers_no_media_embeds():
    from wagtail.admin.rich_text import get_rich_text_editor_widget

    from cms.models import AssetPage

    body_editor = AssetPage._meta.get_field("body").formfield().widget
    assert "embed" not in body_editor.features
    assert "embed" not in get_rich_text_editor_widget().features
    assert {"bold", "link", "document-link"} <= set(body_editor.features)


def test_no_oembed_provider_is_ever_asked():
    from wagtail.embeds.finders import get_finders

    assert get_finders() == []


def test_an_embed_already_in_a_body_renders_as_a_plain_link_never_an_iframe(client, rep):
    from wagtail.embeds.models import Embed

    video = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    # What Wagtail fetched when the embed was made: it would render this <iframe>.
    Embed.objects.create(
        url=video,
        max_width=None,
        type="video",
        html='<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>',
        provider_name="YouTube",
    )
    body = (
        f'<p>Watch this:</p><embed embedtype="media" url="{video}"/>'
        '<embed embedtype="media" url="javascript:alert(1)"/>'
    )
    asset = make_asset("Demo video", body=body)
    html = client.get(asset.url).content.decode()
    assert "<iframe" not in html and "youtube.com/embed" not in html
    assert f'<a href="{video}" rel="noopener noreferrer">{video}</a>' in html
    assert "javascript:" not in html


# --- Page previews: revalidated on every use ---------------------------------------------------


def test_a_page_preview_is_revalidated_each_time_so_removed_access_stops_it_at_once(
    client, rep, django_capture_on_commit_callbacks
):
    from tests.cms.builders import make_pdf

    team = make_team("EMEA")
    team.members.add(rep)
    with django_capture_on_commit_callbacks(execute=True):
        pdf = make_document("plan.pdf", make_pdf(["Cover", "Prices"]))
    asset = make_asset("Plan", document=pdf, teams=[team])
    url = f"/assets/{asset.pk}/pages/2/preview/"
    first = client.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first["Cache-Control"] == "private, no-cache"
    etag = first["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["Cache-Control"] == "private, no-cache" and again["ETag"] == etag
    other_page = client.get(f"/assets/{asset.pk}/pages/1/preview/", headers={"If-None-Match": etag})
    assert other_page.status_code == 200  # each page is its own image
    team.members.remove(rep)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


# --- HEAD ---------------------------------------------------------------------------------


def test_head_answers_as_get_would_on_the_reps_views_and_records_nothing(client, rep):
    """HEAD was a 405 on the views limited to GET (``require_GET``); it is answered as GET is
    (status and headers, no body), and asks nothing the GET would record: no view of the
    asset page, no download, no link opened."""
    from analytics.models import UsageEvent

    asset = make_asset("Brief", document=make_document("brief.txt", b"the brief"))
    video = make_asset("Demo video", external_url="https://video.example.com/demo")
    urls = [
        asset.url,
        f"/assets/{asset.id}/download/",
        f"/assets/{video.id}/open/",
        f"/assets/{asset.id}/thumbnail/",
        f"/assets/{asset.id}/pages/1/preview/",
        "/media/images/none.png",
        "/favicon.ico",
    ]
    heads = {url: client.head(url) for url in urls}
    assert not UsageEvent.objects.exists()
    for url, head in heads.items():
        got = client.get(url)
        assert head.status_code == got.status_code != 405, url
        assert head.get("Content-Type") == got.get("Content-Type"), url
        assert not (b"".join(head.streaming_content) if head.streaming else head.content), url
    assert UsageEvent.objects.count() == 3  # the GETs' view, download and link opened
    assert heads[f"/assets/{asset.id}/download/"]["Content-Disposition"].startswith("attachment")
    assert heads[f"/assets/{video.id}/open/"]["Location"] == "https://video.example.com/demo"
