"""Asset -> search document."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cms.models import AssetPage, Competitor
from cms.selectors import asset_allowed_team_ids
from search.documents import document_for_asset, live_documents
from search.query import FAR_FUTURE
from tests.factories import make_asset, make_document, make_section, make_team, make_user

pytestmark = pytest.mark.django_db


def test_document_carries_text_facets_visibility_and_display_fields():
    owner = make_user("owner", first_name="Olivia", last_name="Owner")
    acme = Competitor.objects.create(name="Acme")
    file = make_document("deck.txt", b"file words")
    asset = make_asset(
        "Battlecard",
        asset_type="battlecard",
        stages=("decide", "evaluate"),
        summary="Short summary",
        body="<p>Body &amp; <b>bold</b></p>",
        competitors=[acme],
        owner=owner,
        document=file,
        review_by=timezone.localdate(),
    )
    type(file).objects.filter(pk=file.pk).update(extracted_text="words from the PDF")
    document = document_for_asset(asset.pk)
    assert document.body == "Body & bold"
    assert document.file_text == "words from the PDF"
    assert document.content == "Body & bold\n\nwords from the PDF"
    assert sorted(document.terms["stages"]) == ["decide", "evaluate"]
    assert document.terms["asset_type"] == ("battlecard",)
    assert document.terms["competitors"] == ("acme",)
    assert document.display()["competitors"] == ["acme"]
    assert document.audience == ("all",)
    assert document.expire_at == FAR_FUTURE
    assert document.owner == "Olivia Owner"
    assert document.url == asset.get_url()
    assert document.display()["review_by"] == timezone.localdate().isoformat()


def test_highlight_markers_typed_into_text_are_stripped():
    asset = make_asset("Sneaky \x02title\x03", summary="a \x03 b")
    document = document_for_asset(asset.pk)
    assert document.title == "Sneaky title" and document.summary == "a  b"


def test_only_live_assets_get_a_document():
    draft = make_asset("Draft", publish=False)
    archived = make_asset("Archived", archived=True)
    expired = make_asset("Old", expire_at=timezone.now() + timedelta(seconds=1))
    AssetPage.objects.filter(pk=expired.pk).update(expire_at=timezone.now() - timedelta(days=1))
    assert document_for_asset(draft.pk) is None
    assert document_for_asset(archived.pk) is None
    assert document_for_asset(expired.pk) is None
    assert document_for_asset(999_999) is None


def test_expiry_date_is_indexed_so_queries_can_enforce_it():
    when = timezone.now() + timedelta(days=3)
    asset = make_asset("Offer", expire_at=when)
    assert document_for_asset(asset.pk).expire_at == int(when.timestamp())


def test_bulk_documents_apply_the_same_visibility_rule_as_cms_selectors():
    a, b, c = make_team("A"), make_team("B"), make_team("C")
    outer = make_section("Outer", teams=[a, b])
    inner = make_section("Inner", parent=outer, teams=[b, c])
    assets = [
        make_asset("Open"),
        make_asset("Asset-restricted", teams=[c]),
        make_asset("In outer", parent=outer),
        make_asset("In outer, restricted", parent=outer, teams=[a]),
        make_asset("In inner", parent=inner),
        make_asset("In inner, to nobody", parent=inner, teams=[a]),
    ]
    bulk = {doc.id: doc for batch in live_documents(batch_size=2) for doc in batch}
    single = {asset.pk: document_for_asset(asset.pk) for asset in assets}
    assert bulk == single  # batches of two and of one agree: URLs, slugs, audiences
    assert [d.fingerprint for d in bulk.values()] == [d.fingerprint for d in single.values()]
    single = {pk: document.audience for pk, document in single.items()}
    assert single[assets[4].pk] == (f"team:{b.pk}",)
    assert single[assets[5].pk] == ()
    assert asset_allowed_team_ids(assets[5]) == frozenset()


def test_fingerprint_changes_with_indexed_content():
    asset = make_asset("Original title")
    before = document_for_asset(asset.pk).fingerprint
    AssetPage.objects.filter(pk=asset.pk).update(title="New title")
    assert document_for_asset(asset.pk).fingerprint != before
