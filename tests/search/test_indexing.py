"""The index follows the library: publish, unpublish, move, restrict, delete, file processing,
and `manage.py search_reindex` (progress, --check). Runs on the embedded engine."""

from datetime import timedelta
from io import BytesIO, StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.roles import REP
from cms import selectors as cms_selectors
from cms.models import AssetPage
from search.engines import SearchUnavailable, get_engine, use_engine
from search.models import PendingIndexUpdate
from tests.factories import make_asset, make_document, make_section, make_team, make_user
from tests.search.conftest import facet, publish, run_search, titles

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what would happen when the surrounding transaction commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def rep(db):
    return make_user("rep", role=REP)


def test_publishing_an_asset_makes_it_searchable(active_engine, commit, rep):
    with commit():
        make_asset("Onboarding checklist")
    assert titles(run_search(rep, "onboarding")) == ["Onboarding checklist"]


def test_saving_a_draft_does_not_change_what_reps_find(active_engine, commit, rep):
    with commit():
        asset = make_asset("Published title")
    with commit():
        asset.title = "Draft title"
        asset.save_revision()
    assert titles(run_search(rep, "title")) == ["Published title"]


def test_renaming_a_type_renames_it_in_search(active_engine, commit, rep):
    """An admin renames the "Video" type "Webinar": reps find the videos by the new name at
    once, and no longer by the old one."""
    from cms.models import AssetType

    with commit():
        make_asset("Quarterly product update", asset_type="video")
    assert titles(run_search(rep, "video")) == ["Quarterly product update"]
    with commit():
        video = AssetType.objects.get(slug="video")
        video.name = "Webinar"
        video.save()
    assert titles(run_search(rep, "webinar")) == ["Quarterly product update"]
    assert titles(run_search(rep, "video")) == []


def test_a_term_in_use_is_not_deleted_so_no_card_names_a_deleted_term(active_engine, commit, rep):
    """Deleting a term in use once left cards and facets naming it until a full re-index;
    a term an asset uses is now not deleted at all (``cms.receivers``), and one no asset
    uses is in no index document."""
    from django.db import transaction
    from django.db.models import ProtectedError

    from cms.models import Product

    with commit():
        legacy = Product.objects.create(name="Legacy suite", slug="legacy-suite")
        unused = Product.objects.create(name="Unused suite", slug="unused-suite")
        asset = make_asset("Migration guide")
        asset.products.set([legacy])
        publish(asset)
    with pytest.raises(ProtectedError), transaction.atomic():
        legacy.delete()
    with commit():
        unused.delete()
    found = run_search(rep, "migration", facets=("product",))
    assert found.hits[0].fields["products"] == ["legacy-suite"]
    assert facet(found, "product") == {"legacy-suite": 1}


def test_moving_an_asset_into_a_restricted_section_hides_it(active_engine, commit, rep):
    emea = make_team("EMEA")
    with commit():
        section = make_section("EMEA", teams=[emea])
        asset = make_asset("Portable deck")
    with commit():
        AssetPage.objects.get(pk=asset.pk).move(section, pos="last-child")
    assert titles(run_search(rep, "portable")) == []
    assert titles(run_search(make_user(role=REP, teams=[emea]), "portable")) == ["Portable deck"]


def test_restricting_a_section_hides_the_assets_below_it(active_engine, commit, rep):
    with commit():
        section = make_section("Partners")
        make_asset("Partner pricing", parent=section)
    assert titles(run_search(rep, "partner")) == ["Partner pricing"]
    with commit():
        section.restricted_teams.set([make_team("Partners team")])
        publish(section)
    assert titles(run_search(rep, "partner")) == []


def test_unpublishing_a_section_alone_hides_the_assets_below_it(active_engine, commit, rep):
    """Wagtail's "unpublish" without "include subpages" leaves the assets live."""
    with commit():
        section = make_section("Launch")
        nested = make_section("Launch extras", parent=section)
        make_asset("Launch deck", parent=section)
        make_asset("Launch video", parent=nested)
    assert sorted(titles(run_search(rep, "launch"))) == ["Launch deck", "Launch video"]
    with commit():
        section.unpublish()
    assert AssetPage.objects.live().filter(title__startswith="Launch").count() == 2
    assert titles(run_search(rep, "launch")) == []
    manager = make_user(role="Marketer")
    assert titles(run_search(manager, "launch")) == []


def test_restricting_an_asset_directly_hides_it(active_engine, commit, rep):
    with commit():
        asset = make_asset("Internal memo")
    with commit():
        asset.restricted_teams.set([make_team("Leadership")])
        asset.save()
    assert titles(run_search(rep, "memo")) == []


def test_deleting_assets_and_sections_removes_them(active_engine, commit, rep):
    with commit():
        section = make_section("Old stuff")
        make_asset("Retired deck", parent=section)
        lone = make_asset("Retired sheet")
    with commit():
        AssetPage.objects.get(pk=lone.pk).delete()
        section.delete()
    assert titles(run_search(rep, "retired")) == []


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def test_text_extracted_from_an_uploaded_pdf_becomes_searchable(active_engine, commit, rep):
    with commit():
        pdf = make_document("terms.pdf", _pdf("Indemnification clauses explained"))
        make_asset("Legal terms", document=pdf)
    found = run_search(rep, "indemnification")
    assert titles(found) == ["Legal terms"]
    assert "<mark>Indemnification</mark>" in found.hits[0].highlight


def test_publishing_while_search_is_down_records_and_later_replays(
    active_engine, down_engine, commit, rep
):
    with use_engine(down_engine), commit():
        asset = make_asset("Written during the outage")
    assert asset.live
    assert list(PendingIndexUpdate.objects.values_list("asset_id", flat=True)) == [asset.pk]
    call_command("search_reindex", stdout=StringIO())
    assert titles(run_search(rep, "outage")) == ["Written during the outage"]
    assert not PendingIndexUpdate.objects.exists()


def test_reindex_shows_progress_and_check_passes_after(active_engine, rep):
    for number in range(5):
        make_asset(f"Asset number {number}")
    active_engine.reset()
    out = StringIO()
    call_command("search_reindex", "--batch-size", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Rebuilding the embedded search index…"
    assert [line.split(" assets")[0].strip() for line in lines[1:4]] == ["2/5", "4/5", "5/5"]
    assert lines[-1].startswith("Indexed 5 assets in")
    check = StringIO()
    call_command("search_reindex", "--check", stdout=check)
    assert "5 live assets, 5 indexed documents." in check.getvalue()
    assert "The index matches the library." in check.getvalue()


def test_check_reports_missing_stale_and_extra_assets(active_engine, rep):
    kept, changed, removed = (make_asset(title) for title in ("Kept", "Changed", "Removed"))
    call_command("search_reindex", stdout=StringIO())
    active_engine.delete([kept.pk])
    AssetPage.objects.filter(pk=changed.pk).update(title="Changed behind its back")
    AssetPage.objects.filter(pk=removed.pk).update(archived=True)
    out = StringIO()
    with pytest.raises(CommandError, match="the index is out of date"):
        call_command("search_reindex", "--check", stdout=out)
    report = out.getvalue()
    assert f"1 missing from the index: {kept.pk}" in report
    assert f"1 stale in the index: {changed.pk}" in report
    assert (
        "1 in the index but not live (unpublished, archived, expired or deleted; or an alias, "
        f"which search finds as its original): {removed.pk}" in report
    )


def test_repair_fixes_only_what_check_finds(active_engine, rep, monkeypatch):
    make_asset("Kept as is")
    rated = make_asset("Rated later")
    call_command("search_reindex", stdout=StringIO())
    monkeypatch.setattr(
        "search.documents.asset_ranking_signals",
        lambda ids: {i: {"effectiveness": 0.8} for i in ids if i == rated.pk},
    )
    out = StringIO()
    call_command("search_reindex", "--repair", stdout=out)
    assert "Repaired 1 entries (0 missing, 1 stale, 0 not live)." in out.getvalue()
    assert titles(run_search(rep, sort="effective"))[0] == "Rated later"
    call_command("search_reindex", "--check", stdout=StringIO())  # no error: all fixed


def test_reindex_with_search_down_fails_with_a_clear_message(down_engine, db):
    with use_engine(down_engine), pytest.raises(CommandError, match="search engine is unavailable"):
        call_command("search_reindex", stdout=StringIO())


# --- Aliases: an alias answers to its own place and to its original's ----------------------


def _alias(original, parent, slug: str) -> AssetPage:
    return AssetPage.objects.get(pk=original.create_alias(parent=parent, update_slug=slug).pk)


def _found_by(user, text: str) -> dict:
    """What a search shows ``user``: hits' ids, facet counts, title suggestions."""
    from search.query import audience_for
    from search.selectors import search_suggest

    results = run_search(user, text, facets=("stage",))
    return {
        "ids": sorted(hit.asset_id for hit in results.hits),
        "total": results.total,
        "stages": {b.value: b.count for b in results.facets.get("stage", [])},
        "suggested": [s.label for s in search_suggest(audience=audience_for(user), text=text)],
    }


@pytest.mark.parametrize("change", ["section teams", "section privacy", "section move"])
def test_an_alias_is_found_once_as_its_original_and_hides_with_it(
    active_engine, commit, rep, change
):
    """An asset placed in a second section ("Create alias") is one hit, one count in each
    facet and one suggestion: it was two of each. Whatever hides the original from a rep
    hides the alias too, so the original's entry is the only one needed."""
    from wagtail.models import PageViewRestriction

    with commit():
        section = make_section("Partners")
        original = make_asset("Partner pricing", parent=section)
        restricted = make_section("Board", teams=[make_team("Board")])
    with commit():
        alias = _alias(original, make_section("Field kit"), "partner-pricing-copy")
    assert _found_by(rep, "partner") == {
        "ids": [original.pk],
        "total": 1,
        "stages": {"discover": 1},
        "suggested": ["Partner pricing"],
    }
    assert cms_selectors.asset_visible_to(rep, alias)

    with commit():
        if change == "section teams":
            section.restricted_teams.set([make_team("Partners team")])
            publish(section)
        elif change == "section privacy":
            PageViewRestriction.objects.create(
                page=section, restriction_type="password", password="x"
            )
        else:
            AssetPage.objects.get(pk=original.pk).move(restricted, pos="last-child")
    assert _found_by(rep, "partner") == {"ids": [], "total": 0, "stages": {}, "suggested": []}
    assert not cms_selectors.asset_visible_to(rep, alias)
    assert not PendingIndexUpdate.objects.exists()
    check = StringIO()
    call_command("search_reindex", "--check", stdout=check)
    assert "The index matches the library." in check.getvalue()


def test_an_alias_of_a_restricted_asset_is_not_found_from_the_moment_it_is_made(
    active_engine, commit, rep
):
    with commit():
        original = make_asset("Merger memo", parent=make_section("Board", teams=[make_team("B")]))
        alias = _alias(original, make_section("Open"), "merger-memo-copy")
    assert _found_by(rep, "merger")["ids"] == []
    marketer = make_user(role="Marketer")
    assert _found_by(marketer, "merger")["ids"] == [original.pk]
    assert cms_selectors.asset_visible_to(marketer, alias)


def test_check_and_repair_find_an_alias_entry_that_still_admits_reps(active_engine, rep):
    """An index built before aliases were found as their originals holds an entry of the
    alias's own, which may even be open to everyone: --check reports it and --repair drops it."""
    import dataclasses

    from search.documents import document_for_asset
    from search.engines import get_engine

    original = make_asset("Partner pricing", parent=make_section("P", teams=[make_team("P")]))
    alias = _alias(original, make_section("Open"), "partner-pricing-copy")
    call_command("search_reindex", stdout=StringIO())
    old = dataclasses.replace(
        document_for_asset(original.pk), id=alias.pk, audience=("all",), fingerprint=""
    )
    get_engine().upsert([old])
    assert _found_by(rep, "partner")["ids"] == [alias.pk]  # what the old entry let through
    out = StringIO()
    with pytest.raises(CommandError, match="the index is out of date"):
        call_command("search_reindex", "--check", stdout=out)
    assert f"or an alias, which search finds as its original): {alias.pk}" in out.getvalue()
    call_command("search_reindex", "--repair", stdout=StringIO())
    assert _found_by(rep, "partner")["ids"] == []
    call_command("search_reindex", "--check", stdout=StringIO())


def test_an_alias_converted_to_a_page_of_its_own_is_found_as_itself(active_engine, commit, rep):
    """ "Convert alias" publishes nothing: without its own entry, the page would be found by
    nobody once it is no longer its original's copy."""
    from wagtail.actions.convert_alias import ConvertAliasPageAction

    with commit():
        original = make_asset("Partner pricing", parent=make_section("Partners"))
        alias = _alias(original, make_section("Field kit"), "partner-pricing-copy")
    assert _found_by(rep, "partner")["ids"] == [original.pk]
    with commit():
        ConvertAliasPageAction(alias).execute(skip_permission_checks=True)
    assert _found_by(rep, "partner")["ids"] == sorted([original.pk, alias.pk])


def test_an_update_that_missed_its_task_is_replayed_by_the_scheduler(
    active_engine, down_engine, commit, rep
):
    """Published while the engine was down: the asset was left out of every search until
    something else wrote to the index, or someone ran search_reindex (an outside audit
    waited 2 min 20 s with the scheduler running). The scheduler now replays it."""
    with commit():
        make_asset("Roadmap briefing")  # the index is not empty: no rebuild
    with use_engine(down_engine), commit():
        asset = make_asset("Written during the outage")
    call_command("analytics_scheduler", "--once", stdout=StringIO())
    assert PendingIndexUpdate.objects.exists()  # too young: its own task may still come
    PendingIndexUpdate.objects.update(requested_at=timezone.now() - timedelta(minutes=1))
    with use_engine(down_engine):  # still down: it waits, nothing is lost
        call_command("analytics_scheduler", "--once", stdout=StringIO())
    assert list(PendingIndexUpdate.objects.values_list("asset_id", flat=True)) == [asset.pk]
    PendingIndexUpdate.objects.update(requested_at=timezone.now() - timedelta(minutes=1))
    call_command("analytics_scheduler", "--once", stdout=StringIO())  # the engine is back
    assert not PendingIndexUpdate.objects.exists()
    assert titles(run_search(rep, "outage")) == ["Written during the outage"]


def test_an_index_lost_while_assets_are_live_is_rebuilt_by_the_scheduler(
    active_engine, commit, rep
):
    """A wiped search server (or a deleted index directory): reps' searches found nothing,
    with nothing saying why, until someone ran search_reindex."""
    with commit():
        make_asset("Roadmap briefing")
    active_engine.reset()  # the index is gone, the library is not
    assert titles(run_search(rep, "roadmap")) == []
    call_command("analytics_scheduler", "--once", stdout=StringIO())
    assert titles(run_search(rep, "roadmap")) == ["Roadmap briefing"]


def test_an_index_built_for_other_fields_is_rebuilt_by_the_scheduler(active_engine, commit, rep):
    """An upgrade that adds a searchable field: every engine refuses the old index, and search
    was unavailable until someone ran search_reindex (a `make run` on an existing data
    directory, a stack without a start-up reindex)."""
    import tantivy

    with commit():
        make_asset("Roadmap briefing")
    builder = tantivy.SchemaBuilder()  # an index as an older version built it
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    older = active_engine.root / "g0-aaaaaa"
    older.mkdir()
    tantivy.Index(builder.build(), path=str(older))
    (active_engine.root / "CURRENT").write_text("g0-aaaaaa")
    assert get_engine().health().outdated
    with pytest.raises(SearchUnavailable, match="run manage.py search_reindex"):
        run_search(rep, "roadmap")

    call_command("analytics_scheduler", "--once", stdout=StringIO())

    assert titles(run_search(rep, "roadmap")) == ["Roadmap briefing"]
    assert not get_engine().health().outdated


def test_an_empty_index_of_an_empty_library_is_left_alone(active_engine, db):
    from search.services import index_restore

    assert index_restore() is None
