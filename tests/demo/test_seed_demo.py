"""``manage.py seed_demo``: the demo library a new user sees after ``make run``.

The full seed (84 assets, 75 generated files, each extracted in a child process) runs once
for the module inside a transaction that is rolled back at the end; each test runs in a
savepoint inside it. Search indexing goes to a throwaway embedded index.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Page, Revision, Site

from accounts.models import Team
from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER, REP
from analytics.rollups import gaps
from cms.models import AssetPage, AssetType, BuyerStage, LibraryPage, Pillar
from cms.selectors import asset_visible_to, assets_for_user
from demo import deals, library
from demo.library import code_word, search_hint
from demo.management.commands import seed_demo
from search.query import SearchQuery, audience_for
from search.selectors import search_run, synonym_sets_clear
from search.services import search_events_flush

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]

DELIBERATELY_EMPTY = {("discover", "why-buy-you"), ("onboard", "why-buy-now")}
LOGINS = [
    ("marketer", "demo-marketer", MARKETER),
    ("rep", "demo-rep", REP),
    ("lead", "demo-lead", ENABLEMENT_LEAD),
    ("admin", "demo-admin", ADMIN),
]


def _throwaway_search_index():
    """Index into a temporary embedded engine instead of the test run's shared one."""
    from search.engines import use_engine
    from search.engines.embedded import EmbeddedEngine

    directory = Path(tempfile.mkdtemp(prefix="seed-demo-index-"))
    return directory, use_engine(EmbeddedEngine(path=directory / "index"))


@pytest.fixture(scope="class")
def first_run(django_db_setup, django_db_blocker):
    """The output of one full seed into an empty library; rolled back after the class.

    The demo deals (2,000) are left out to keep this quick: they have their own tests
    (tests/demo/test_deals.py), and that the command runs them is tested below."""
    directory, engine = _throwaway_search_index()
    no_analytics = pytest.MonkeyPatch.context()
    with no_analytics as patch, django_db_blocker.unblock(), engine, transaction.atomic():
        patch.setattr(seed_demo, "seed_analytics", lambda stdout: None)
        out = io.StringIO()
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
    synonym_sets_clear()  # the demo's synonyms are rolled back: not cached for later tests
    shutil.rmtree(directory, ignore_errors=True)


def _seed(*args) -> str:
    out = io.StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _user(username: str):
    return get_user_model().objects.get(username=username)


def _cells() -> Counter:
    cells = Counter()
    assets = AssetPage.objects.live().prefetch_related("stages", "pillars")
    for asset in assets:
        for stage in asset.stages.all():
            for pillar in asset.pillars.all():
                cells[(stage.slug, pillar.slug)] += 1
    return cells


def _snapshot() -> dict:
    Document = get_document_model()
    return {
        "pages": Page.objects.count(),
        "revisions": Revision.objects.count(),
        "documents": Document.objects.count(),
        "files": len(default_storage.listdir("documents")[1]),
        "users": get_user_model().objects.count(),
        "groups": Group.objects.count(),
        "team members": sum(team.members.count() for team in Team.objects.all()),
        "latest revision": Revision.objects.order_by("-pk").values_list("pk", flat=True)[0],
    }


class TestFullSeed:
    """One full seed shared by the tests of this class."""

    def test_seed_publishes_at_least_80_assets_through_revisions_in_sections(self, first_run):
        assets = AssetPage.objects.live().specific()
        assert assets.count() >= 80
        library = LibraryPage.objects.get(depth=2)
        sections = set(LibraryPage.objects.child_of(library).values_list("pk", flat=True))
        for asset in assets:
            assert asset.get_parent().pk in sections, asset.title
            assert asset.live_revision_id is not None, asset.title
            assert asset.owner.groups.filter(name=MARKETER).exists(), asset.title
        titles = {section.title for section in LibraryPage.objects.child_of(library)}
        assert {"Product", "Competitive", "Customer stories"} <= titles

    def test_every_asset_type_is_used_and_videos_are_links(self, first_run):
        used = set(AssetPage.objects.live().values_list("asset_type__slug", flat=True))
        assert used == set(AssetType.objects.values_list("slug", flat=True))
        for video in AssetPage.objects.filter(asset_type__slug="video"):
            assert video.external_url.startswith("https://") and video.document_id is None
        extensions = Counter(
            Path(asset.document.file.name).suffix
            for asset in AssetPage.objects.exclude(document=None).select_related("document")
        )
        assert {".pdf", ".pptx", ".docx"} <= set(extensions)

    def test_every_stage_pillar_cell_has_assets_except_the_deliberate_gaps(self, first_run):
        cells = _cells()
        every_cell = {
            (stage, pillar)
            for stage in BuyerStage.objects.values_list("slug", flat=True)
            for pillar in Pillar.objects.values_list("slug", flat=True)
        }
        assert len(every_cell) == 12
        assert {cell for cell in every_cell if cells[cell] == 0} == DELIBERATELY_EMPTY

    def test_library_replaces_wagtails_welcome_page_as_site_root(self, first_run):
        library = LibraryPage.objects.get(depth=2)
        assert Site.objects.get(is_default_site=True).root_page_id == library.pk
        assert not Page.objects.filter(
            title__startswith="Welcome to your new Wagtail site"
        ).exists()
        assert library.intro

    def test_demo_users_sign_in_with_printed_passwords_and_have_their_roles(self, first_run):
        for username, password, role in LOGINS:
            user = authenticate(username=username, password=password)
            assert user is not None, username
            assert user.groups.filter(name=role).exists(), username
            assert f"{username}  {password}" in re.sub(r" {2,}", "  ", first_run)
        assert _user("admin").is_superuser
        assert not _user("rep").is_superuser
        assert list(_user("rep").teams.values_list("name", flat=True)) == ["North America"]
        assert "Rep (North America team)" in first_run

    def test_taxonomy_snippets_are_created(self, first_run):
        from cms.models import Competitor, Industry, Persona, Product

        assert Product.objects.count() >= 3
        assert Competitor.objects.count() >= 3
        assert Industry.objects.count() >= 3
        assert Persona.objects.count() >= 3
        assert {"North America", "EMEA", "APAC"} <= set(Team.objects.values_list("name", flat=True))

    def test_every_demo_deals_industry_fills_deal_mode(self, first_run):
        """Deal mode dropped the industry of most demo deals ("Retail" named no term of
        "Retail and e-commerce"); each industry the demo CRM uses now names a term."""
        from analytics.deal_panel import deal_search_params
        from analytics.models import Deal
        from cms.models import Industry
        from demo.deals import INDUSTRIES as DEAL_INDUSTRIES

        filled = {
            value: deal_search_params(Deal(industry=value, attributes={})).get("deal_industry")
            for value in DEAL_INDUSTRIES
        }
        assert None not in filled.values(), filled
        assert filled["Retail"] == Industry.objects.get(name="Retail and e-commerce").slug

    def test_demo_synonyms_find_an_asset_that_says_it_the_other_way(self, first_run):
        """The demo seeded no synonym sets, so "return on investment" missed the ROI
        calculators and "tco" the total cost of ownership whitepaper."""
        rep = _user("rep")

        def found(text: str) -> dict[str, list[str]]:
            query = SearchQuery(audience=audience_for(rep), now=timezone.now(), text=text)
            return {hit.fields["title"]: hit.synonym_of for hit in search_run(query=query).hits}

        roi = AssetPage.objects.get(title="ROI calculator: Tidewater Observe")
        own_text = f"{roi.title} {roi.summary} {roi.body} {roi.document.extracted_text}"
        assert "return on investment" not in " ".join(own_text.lower().split())
        assert found("return on investment")[roi.title] == ["return on investment"]
        tco = "Total cost of ownership: Tidewater vs in-house scripts"
        assert found("tco")[tco] == ["tco"]

    def test_expired_asset_is_hidden_from_the_rep(self, first_run):
        expired = AssetPage.objects.filter(expire_at__lt=timezone.now())
        assert expired.count() == 1
        rep = _user("rep")
        assert not assets_for_user(rep).filter(pk=expired.get().pk).exists()
        assert not asset_visible_to(rep, expired.get())
        assert assets_for_user(rep).count() >= 60

    def test_team_restrictions_hide_emea_and_apac_assets_from_the_north_america_rep(
        self, first_run
    ):
        rep, marketer = _user("rep"), _user("marketer")
        emea_kit = LibraryPage.objects.get(restricted_teams__name="EMEA")
        kit_assets = AssetPage.objects.live().descendant_of(emea_kit)
        assert kit_assets.count() >= 3
        assert not assets_for_user(rep).filter(pk__in=kit_assets).exists()
        assert assets_for_user(marketer).filter(pk__in=kit_assets).count() == kit_assets.count()
        apac_only = AssetPage.objects.filter(restricted_teams__name="APAC")
        assert apac_only.exists() and not assets_for_user(rep).filter(pk__in=apac_only).exists()
        north_america = AssetPage.objects.filter(restricted_teams__name="North America")
        assert north_america.exists()
        assert assets_for_user(rep).filter(pk__in=north_america).count() == north_america.count()

    def test_the_demo_reps_searches_show_both_kinds_of_search_gap(self, first_run):
        """Search gaps in the demo has a search nothing answers and searches answered only
        by content the rep's teams may not open, which "Found today" tells apart."""
        deals._seed_searches()
        search_events_flush()
        found = {
            gap["query"]: (gap["searches"], gap["found"], gap["found_open"])
            for gap in gaps.search_gaps(timezone.localdate())["zero_results"]
        }
        assert set(found) == {text.lower() for text, _ in deals.DEMO_SEARCHES}
        assert found["hipaa compliance"] == (4, 0, 0)  # nobody made it
        assert found["gbp pricing"] == (3, 1, 0)  # the EMEA field kit's
        assert found["singapore region"] == (2, 1, 0)  # APAC only

    def test_some_assets_are_past_their_review_date(self, first_run):
        today = timezone.localdate()
        assert AssetPage.objects.live().filter(review_by__lt=today).count() >= 3
        assert AssetPage.objects.live().filter(review_by__gte=today).count() >= 60

    def test_generated_files_are_extracted_and_have_several_pages(self, first_run):
        Document = get_document_model()
        documents = Document.objects.filter(assets__isnull=False)
        assert documents.count() >= 60
        assert set(documents.values_list("extraction_status", flat=True)) == {"done"}
        for document in documents:
            if not document.file.name.endswith(".docx"):
                assert document.page_count >= 3, document.title

    def test_every_generated_file_has_a_thumbnail_that_is_not_blank(self, first_run):
        from PIL import Image

        from cms.extraction.thumbnails import is_blank

        documents = get_document_model().objects.filter(assets__isnull=False)
        decks = [document for document in documents if document.file.name.endswith(".pptx")]
        assert len(decks) >= 15
        for document in documents:
            with document.thumbnail.open("rb") as stored, Image.open(stored) as image:
                assert not is_blank(image), document.title
                assert image.convert("L").getextrema()[0] < 200, document.title  # not all white

    def test_decks_are_stored_page_by_page(self, first_run):
        from cms.models import LibraryDocumentPage

        deck = get_document_model().objects.filter(file__endswith=".pptx").first()
        numbers = list(
            LibraryDocumentPage.objects.filter(document=deck).values_list("number", flat=True)
        )
        assert numbers == list(range(1, deck.page_count + 1))

    def test_code_word_inside_a_pdf_is_searchable_text_found_nowhere_else(self, first_run):
        word, title = search_hint()
        asset = AssetPage.objects.get(title=title)
        assert asset.document.file.name.endswith(".pdf")
        assert word in " ".join(asset.document.extracted_text.split())
        assert f'search for "{word}"' in first_run
        for page in AssetPage.objects.all():
            assert word not in f"{page.title} {page.summary} {page.body}".lower()

    def test_each_file_has_its_own_code_word(self, first_run):
        texts = get_document_model().objects.values_list("extracted_text", flat=True)
        words = [code_word(number) for number in range(1, AssetPage.objects.count() + 1)]
        per_file = [[word for word in words if word in " ".join(text.split())] for text in texts]
        assert all(len(found) == 1 for found in per_file)
        assert len({found[0] for found in per_file}) == len(per_file)

    def test_progress_and_summary_are_printed(self, first_run):
        lines = first_run.splitlines()
        progress = [line for line in lines if re.match(r"\[\d+/\d+\] Creating ", line)]
        total = AssetPage.objects.count()
        assert len(progress) == total
        assert progress[0].startswith(f"[1/{total}] Creating ")
        assert f"Created: assets {total}, documents " in first_run
        assert "Coverage gaps left on purpose: discover x why-buy-you, onboard x why-buy-now" in (
            first_run
        )

    def test_second_run_changes_nothing_and_says_so(self, first_run):
        before = _snapshot()
        output = _seed()
        assert _snapshot() == before
        assert "nothing changed" in output
        assert "Creating" not in output

    def test_interrupted_seed_resumes_and_quiet_prints_nothing(self, first_run):
        victim = AssetPage.objects.get(title="Battlecard: Tidewater Pipelines vs Pipewise")
        document_id = victim.document_id
        victim.delete()
        output = _seed("--quiet")
        assert output == ""
        recreated = AssetPage.objects.get(title="Battlecard: Tidewater Pipelines vs Pipewise")
        assert recreated.live and recreated.document_id == document_id


def test_the_command_seeds_the_demo_deals_after_the_library(monkeypatch):
    calls = []
    monkeypatch.setattr(
        seed_demo,
        "demo_seed",
        lambda progress: calls.append("library") or library.SeedResult(assets=0),
    )
    monkeypatch.setattr(seed_demo, "seed_analytics", lambda stdout: calls.append("deals"))
    call_command("seed_demo", "--quiet")
    assert calls == ["library", "deals"]


@pytest.mark.django_db(transaction=True)
def test_worker_threads_create_extracted_documents_outside_a_transaction(monkeypatch):
    """Outside a transaction (a real run) documents are made by worker threads while the
    main thread builds pages; they must land in the database with their text extracted."""
    few = library.asset_specs()[:6]
    threads = []
    make_document = library._document_ensure

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return make_document(*args, **kwargs)

    monkeypatch.setattr(library, "asset_specs", lambda: few)
    monkeypatch.setattr(library, "_document_ensure", spy)
    directory, engine = _throwaway_search_index()
    with engine:
        result = library.demo_seed(workers=2)
    shutil.rmtree(directory, ignore_errors=True)

    with_files = [spec for spec in few if spec.asset_type != "video"]
    assert result.created["assets"] == len(few)
    assert result.created["documents"] == len(with_files) == len(threads)
    assert all(name.startswith("seed-demo") for name in threads)
    for spec in with_files:
        document = AssetPage.objects.get(title=spec.title).document
        assert document.extraction_status == "done", spec.title


def test_the_demo_app_and_seed_demo_are_not_installed_in_production(tmp_path):
    """With PRODUCTION=true the demo app is left out of INSTALLED_APPS: ``seed_demo`` (whose
    users have published passwords) does not exist, and the rest of the product starts."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "enablement.settings",
        "PRODUCTION": "true",
        "SECRET_KEY": "a-production-secret-for-this-test-only-0123456789",
        "ALLOWED_HOSTS": "library.example.com",
        "DATA_DIR": str(tmp_path),
    }
    code = (
        "import django; django.setup(); from django.apps import apps; "
        "print(apps.is_installed('demo'), apps.is_installed('analytics'))"
    )
    installed = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert installed.stdout.split() == ["False", "True"]
    seed = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert seed.returncode != 0 and "Unknown command: 'seed_demo'" in seed.stderr
