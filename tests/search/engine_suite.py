"""The behavioural suite every search engine must pass. An engine's test module subclasses
``EngineSuite`` and provides three fixtures: ``engine`` (empty, working), ``broken_engine``
(one that cannot be reached) and ``index_deleted`` (deletes ``engine``'s index as an operator
would: a DELETE on the server, the directory removed). Everything here goes through the real
services and selectors.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from search import selectors, services
from search.engines import SearchUnavailable, use_engine
from search.query import DealContext, audience_for
from tests.search.conftest import facet, publish, run_search, set_synonyms, titles

SUGGEST_URLS = ("/search/suggest/", "/api/v1/search/suggest")
UNAVAILABLE_ANSWER = {"detail": "search is unavailable; try again shortly"}


class EngineSuite:
    @pytest.fixture(autouse=True)
    def _active(self, engine):
        engine.reset()
        with use_engine(engine):
            yield engine

    # --- relevance ------------------------------------------------------------------------
    def test_title_word_finds_the_asset(self, library):
        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"

    def test_title_match_ranks_above_body_match(self, library):
        found = titles(run_search(library.outsider, "roadmap"))
        assert found.index("Roadmap briefing") < found.index("Analyst notes")

    def test_stemming_pricing_finds_price(self, library):
        assert "Price list overview" in titles(run_search(library.outsider, "pricing"))

    def test_typo_battlecrad_finds_battlecard(self, library):
        assert titles(run_search(library.outsider, "battlecrad")) == ["Acme battlecard"]

    def test_typos_are_tolerated_only_when_the_words_as_typed_find_nothing(
        self, library, django_capture_on_commit_callbacks
    ):
        """A competitor's name two typos from a common word ("pipewise", "pipeline") found
        the competitor's assets and every pipeline asset, and the count and facets said so;
        a typo with no exact match still finds its word."""
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Switching from Pipewise", stages=("decide",))
            make_asset("Pipeline health dashboard", stages=("discover",))
            make_asset("Data pipeline overview", stages=("discover",))
        exact = run_search(library.outsider, "pipewise")
        assert (titles(exact), exact.total) == (["Switching from Pipewise"], 1)
        assert facet(exact, "stage") == {"decide": 1}
        assert exact.within_typos is False
        typo = run_search(library.outsider, "pipewize")  # no word as typed: within typos
        assert "Switching from Pipewise" in titles(typo)
        assert typo.within_typos is True  # and the page says so
        assert run_search(library.outsider, "pipewize", typos=False).total == 0
        # Filtered to a stage without it: nothing, and the stage facet says where it is (a
        # search within typos here counted every pipeline asset under "Decide").
        elsewhere = run_search(
            library.outsider, "pipewise", filters={"stage": ("discover",)}, facets=("stage",)
        )
        assert (elsewhere.total, facet(elsewhere, "stage")) == (0, {"discover": 0, "decide": 1})
        assert sorted(titles(run_search(library.outsider, "pipelin"))) == [
            "Data pipeline overview",  # still being typed: its prefix, no typo needed
            "Pipeline health dashboard",
        ]

    def test_a_word_being_typed_finds_the_titles_that_start_with_it(self, library):
        """Results as you type: "roadm" is no word, but a rep typing "roadmap" has got that
        far. Only the last word, only while nothing follows it, only titles, only from
        three letters; restricted assets stay hidden."""
        outsider = library.outsider
        assert titles(run_search(outsider, "roadm")) == ["Roadmap briefing"]
        assert titles(run_search(outsider, "product roadm")) == ["Roadmap briefing"]
        assert titles(run_search(outsider, "roadm product")) == []
        assert titles(run_search(outsider, "roadm ")) == []
        assert titles(run_search(outsider, "ro")) == []
        assert titles(run_search(outsider, "zephyr")) == []
        assert titles(run_search(library.insider, "zephyr")) == ["Zephyrine secret plan"]

    def test_every_word_must_match(self, library):
        assert titles(run_search(library.outsider, "roadmap battlecard")) == []

    def test_a_possessive_typed_finds_what_its_word_finds(
        self, library, django_capture_on_commit_callbacks
    ):
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Initech's renewal playbook", summary="Keep the buyer’s champion close.")
            make_asset("Initech pricing", summary="What the buyer pays.")
        both = ["Initech pricing", "Initech's renewal playbook"]
        for typed in ("initech", "Initech's", "INITECH’S"):
            assert sorted(titles(run_search(library.outsider, typed))) == both, typed
        assert titles(run_search(library.outsider, "initech's champion")) == [
            "Initech's renewal playbook"
        ]
        assert sorted(titles(run_search(library.outsider, "buyer's initech"))) == both

    def test_quoted_phrase_matches_words_in_order_only(self, library):
        assert titles(run_search(library.outsider, '"win against acme"')) == ["Acme battlecard"]
        assert titles(run_search(library.outsider, '"acme against win"')) == []

    def test_text_only_inside_the_file_is_found(self, library):
        found = run_search(library.outsider, "kaleidoscope")
        assert titles(found) == ["Globex case study"]
        assert "<mark>kaleidoscope</mark>" in found.hits[0].highlight

    # --- what a word is: the same on every engine (outside audit 47) ----------------------
    @pytest.fixture
    def proof_points(self, library, django_capture_on_commit_callbacks):
        """Text with numbers, names and code words that the servers' standard tokenizer kept
        whole ("99.95", "o'connor", "node.js") while the query and tantivy split them."""
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset(
                "Sync reliability report",
                summary="99.95% of scheduled syncs; 250,000 tables; $2.1M in lost sales "
                "avoided at a firm of 9,000 employees.",
            )
            make_asset(
                "Signal Street story",
                summary="Siobhan O'Connor runs the 9 a.m. stand-up; the agent is built "
                "with Node.js for x86_64 servers.",
            )
            make_asset("Plan A", summary="Page 1 of a two-page plan.")  # one-letter words
        return library

    @pytest.mark.parametrize(
        "text", ["99.95%", "99.95", "250,000 tables", "$2.1M", "2.1m", "9,000 employees"]
    )
    def test_decimal_and_grouped_numbers_are_found(self, proof_points, text):
        found = run_search(proof_points.outsider, text)
        assert titles(found) == ["Sync reliability report"]
        assert found.within_typos is False

    @pytest.mark.parametrize("text", ["O'Connor", "connor", "a.m.", "Node.js", "js", "x86_64"])
    def test_words_joined_by_an_apostrophe_period_or_underscore_are_found(self, proof_points, text):
        found = run_search(proof_points.outsider, text)
        assert titles(found) == ["Signal Street story"]
        assert found.within_typos is False

    @pytest.mark.parametrize("text", ["営業支援", "数据平台", "ありがとう"])
    def test_a_chinese_or_japanese_word_the_library_lacks_finds_nothing(self, proof_points, text):
        """Not every asset as a "close match": the servers cut such a run into characters,
        each one typo from "a" or "1"."""
        found = run_search(proof_points.outsider, text)
        assert (found.total, titles(found)) == (0, [])

    def test_a_short_chinese_title_is_found_whole(
        self, library, django_capture_on_commit_callbacks
    ):
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("数据平台概述", summary="产品介绍")
        assert titles(run_search(library.outsider, "数据平台概述")) == ["数据平台概述"]

    def test_plural_acronyms_stem_alike_on_every_engine(
        self, library, django_capture_on_commit_callbacks
    ):
        """Snowball's English stemmer (tantivy's; the servers now use it too) leaves "SLAs"
        whole: it is not "SLA". Lucene's Porter made the servers alone find both."""
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Uptime SLAs explained")
            make_asset("SLA template")
        assert titles(run_search(library.outsider, "slas")) == ["Uptime SLAs explained"]
        # a space after it: a finished word, not the start of a title being typed
        assert titles(run_search(library.outsider, "SLA ")) == ["SLA template"]

    # --- type and taxonomy labels ---------------------------------------------------------
    def test_a_word_only_in_the_asset_type_label_finds_the_asset(self, library):
        """A rep typing "deck" means the decks, not only those whose text says "deck". The
        label is never shown as if it were the asset's text, and a rep finds no deck they
        may not see."""
        found = run_search(library.outsider, "deck", per_page=50)
        decks = run_search(library.outsider, filters={"type": ("deck",)}, per_page=50)
        assert "Roadmap briefing" in titles(found)  # "deck" is only its type's name
        assert sorted(titles(found)) == sorted(titles(decks))
        assert facet(found, "type") == {"deck": decks.total}
        roadmap = next(hit for hit in found.hits if hit.fields["title"] == "Roadmap briefing")
        assert "<mark>" not in roadmap.highlight and "Deck" not in roadmap.highlight
        assert "Zephyrine secret plan" not in titles(found)
        assert "Zephyrine secret plan" in titles(run_search(library.insider, "deck"))

    def test_a_title_match_ranks_above_a_type_label_match(
        self, library, django_capture_on_commit_callbacks
    ):
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Objection deck", asset_type="one-pager", summary="The usual pushback.")
        found = titles(run_search(library.outsider, "deck", per_page=50))
        assert found.index("Objection deck") < found.index("Roadmap briefing")
        assert found.index("Objection deck") < found.index("Price list overview")

    def test_words_combine_with_type_and_taxonomy_names(self, library):
        """ "roadmap deck": the deck about the roadmap, not the notes that mention it;
        "fintech battlecard": the battlecard tagged Fintech, whose text never says so.
        Stage names are no search words ("evaluate" is a filter, not a topic)."""
        assert titles(run_search(library.outsider, "roadmap deck")) == ["Roadmap briefing"]
        assert titles(run_search(library.outsider, "fintech battlecard")) == ["Acme battlecard"]
        assert titles(run_search(library.outsider, "evaluate")) == []

    def test_a_synonym_of_a_type_name_finds_that_type(self, library):
        set_synonyms("deck, presentation")
        found = run_search(library.outsider, "presentation")
        assert "Roadmap briefing" in titles(found)
        assert all(hit.synonym_of == ["presentation"] for hit in found.hits)

    # --- permissions ----------------------------------------------------------------------
    def test_rep_outside_team_never_sees_restricted_asset(self, library):
        assert titles(run_search(library.outsider, "zephyrine")) == []
        assert titles(run_search(library.insider, "zephyrine")) == ["Zephyrine secret plan"]
        assert "Zephyrine secret plan" not in titles(run_search(library.outsider, per_page=50))

    def test_rep_outside_team_cannot_see_restricted_asset_in_facet_counts(self, library):
        outsider = run_search(library.outsider)
        insider = run_search(library.insider)
        assert "globex" not in facet(outsider, "competitor")
        assert facet(insider, "competitor")["globex"] == 1
        assert facet(outsider, "stage")["decide"] == facet(insider, "stage")["decide"] - 1
        assert outsider.total == insider.total - 1

    def test_rep_outside_team_gets_no_suggestion_for_restricted_asset(self, library):
        outsider = selectors.search_suggest(audience=audience_for(library.outsider), text="zephy")
        insider = selectors.search_suggest(audience=audience_for(library.insider), text="zephy")
        assert outsider == []
        assert [s.label for s in insider] == ["Zephyrine secret plan"]
        # Globex tags a visible case study too, so the term itself is not a secret...
        terms = selectors.search_suggest(audience=audience_for(library.na_rep), text="glob")
        assert ("competitor", "Globex") not in {(s.kind, s.label) for s in terms}

    def test_asset_whose_restrictions_admit_no_team_is_seen_only_by_managers(self, library):
        assert titles(run_search(library.insider, "quixotic")) == []
        assert titles(run_search(library.na_rep, "quixotic")) == []
        assert titles(run_search(library.marketer, "quixotic")) == ["Quixotic merger memo"]

    def test_content_manager_sees_every_live_asset(self, library):
        assert run_search(library.marketer).total == run_search(library.insider).total + 1

    @pytest.mark.parametrize("where", ["asset", "section"])
    @pytest.mark.parametrize("kind", ["password", "groups"])
    def test_a_page_private_to_a_password_or_groups_is_seen_only_by_managers(
        self, library, kind, where, django_capture_on_commit_callbacks
    ):
        """Wagtail's Privacy setting on the asset or a section above it, set and removed in
        the admin: reps stop and start finding it at once, in results, counts, facets,
        suggestions and page matches; a group restriction naming the reps' own group admits
        no rep either."""
        from django.contrib.auth.models import Group
        from wagtail.models import PageViewRestriction

        from accounts.roles import REP
        from tests.factories import make_section

        with django_capture_on_commit_callbacks(execute=True):
            section = make_section("Partner pricing")
        slides = ["Partner programme", "Tamarind discount tiers"]
        deck = deck_asset(
            "Partner deck", slides, django_capture_on_commit_callbacks, parent=section
        )
        reps = (library.outsider, library.insider, library.na_rep)
        before = {rep.pk: run_search(rep) for rep in reps}
        assert titles(run_search(library.outsider, "tamarind")) == ["Partner deck"]
        assert "Partner deck" in suggested(library.outsider, "partner d")

        with django_capture_on_commit_callbacks(execute=True):
            restriction = PageViewRestriction.objects.create(
                page=deck if where == "asset" else section,
                restriction_type=kind,
                password="partners" if kind == "password" else "",
            )
            restriction.groups.set(Group.objects.filter(name=REP))
        for rep in reps:
            found = run_search(rep, "tamarind")
            assert (found.total, found.hits) == (0, []), rep.username
            browsed = run_search(rep)
            assert browsed.total == before[rep.pk].total - 1
            assert facet(browsed, "type")["deck"] == facet(before[rep.pk], "type")["deck"] - 1
            assert "Partner deck" not in suggested(rep, "partner d")
        managed = run_search(library.marketer, "tamarind")
        assert titles(managed) == ["Partner deck"]
        assert [match.page for match in managed.hits[0].matches] == [2]

        with django_capture_on_commit_callbacks(execute=True):
            restriction.delete()
        assert titles(run_search(library.outsider, "tamarind")) == ["Partner deck"]

    def test_a_page_private_to_logged_in_users_changes_nothing_for_reps(
        self, library, django_capture_on_commit_callbacks
    ):
        from wagtail.models import PageViewRestriction

        with django_capture_on_commit_callbacks(execute=True):
            PageViewRestriction.objects.create(
                page=library.roadmap, restriction_type=PageViewRestriction.LOGIN
            )
        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"

    # --- lifecycle ------------------------------------------------------------------------
    def test_expired_asset_disappears_when_its_time_passes(self, library):
        assert titles(run_search(library.outsider, "limited offer")) == ["Limited offer sheet"]
        later = timezone.now() + timedelta(hours=2)
        assert titles(run_search(library.outsider, "limited offer", now=later)) == []
        assert run_search(library.outsider, now=later).total == (
            run_search(library.outsider).total - 1
        )

    @pytest.fixture
    def expiring_section(self, library, django_capture_on_commit_callbacks, monkeypatch):
        """A section given an expiry an hour ahead, as in the admin (set, then published),
        holding a deck whose slides are indexed and a sub-section's asset; ``later`` is two
        hours ahead and ``at_later`` moves the clock there for what reads it (suggestions)."""
        from tests.factories import make_asset, make_section

        with django_capture_on_commit_callbacks(execute=True):
            section = make_section("Spring promotion")
            nested = make_section("Spring bundles", parent=section)
            make_asset("Bundle checklist", parent=nested, summary="Gooseberry bundle steps.")
        slides = ["Spring offers", "Gooseberry bundle pricing"]
        deck_asset("Spring deck", slides, django_capture_on_commit_callbacks, parent=section)
        with django_capture_on_commit_callbacks(execute=True):
            section.expire_at = timezone.now() + timedelta(hours=1)
            publish(section)
        library.later = timezone.now() + timedelta(hours=2)
        library.at_later = lambda: monkeypatch.setattr(timezone, "now", lambda: library.later)
        return library

    def test_a_sections_expiry_hides_its_assets_when_its_time_passes(self, expiring_section):
        lib = expiring_section
        found = run_search(lib.outsider, "gooseberry")
        assert sorted(titles(found)) == ["Bundle checklist", "Spring deck"]
        deck = next(hit for hit in found.hits if hit.fields["title"] == "Spring deck")
        assert [match.page for match in deck.matches] == [2]
        for user in (lib.outsider, lib.marketer):
            gone = run_search(user, "gooseberry", now=lib.later)
            assert (gone.total, gone.hits) == (0, [])
            # three decks go: these two and the library's "Limited offer sheet"
            assert run_search(user, now=lib.later).total == run_search(user).total - 3
            browsed = facet(run_search(user, now=lib.later), "type")
            assert browsed["deck"] == facet(run_search(user), "type")["deck"] - 3
        assert "Spring deck" in suggested(lib.outsider, "spring d")
        lib.at_later()
        assert "Spring deck" not in suggested(lib.outsider, "spring d")

    def test_the_earliest_expiry_above_an_asset_counts_and_follows_its_changes(
        self, expiring_section, django_capture_on_commit_callbacks
    ):
        """The section expires in an hour, before its new asset's own expiry (+90 min):
        the section's counts. Its expiry moved to three hours ahead, its assets stay at +2h
        but the asset's own, now earlier, counts; removed, the others never expire."""
        from cms.models import LibraryPage
        from tests.factories import make_asset

        lib = expiring_section
        section = LibraryPage.objects.get(title="Spring promotion")
        with django_capture_on_commit_callbacks(execute=True):
            make_asset(
                "Gooseberry flash sale",
                parent=section,
                expire_at=timezone.now() + timedelta(minutes=90),
            )
        assert run_search(lib.outsider, "gooseberry").total == 3
        between = timezone.now() + timedelta(minutes=75)
        assert run_search(lib.outsider, "gooseberry", now=between).total == 0

        with django_capture_on_commit_callbacks(execute=True):
            section.expire_at = timezone.now() + timedelta(hours=3)
            publish(section)
        later = titles(run_search(lib.outsider, "gooseberry", now=lib.later))
        assert sorted(later) == ["Bundle checklist", "Spring deck"]
        at_four = timezone.now() + timedelta(hours=4)
        assert run_search(lib.outsider, "gooseberry", now=at_four).total == 0

        with django_capture_on_commit_callbacks(execute=True):
            section.expire_at = None
            publish(section)
        assert run_search(lib.outsider, "gooseberry", now=at_four).total == 2

    def test_unpublished_draft_is_never_returned(self, library):
        assert titles(run_search(library.marketer, "unreleased")) == []

    def test_unpublishing_removes_the_asset(self, library, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            library.roadmap.unpublish()
        assert "Roadmap briefing" not in titles(run_search(library.marketer, "roadmap"))

    def test_archiving_removes_the_asset(self, library, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            library.pricing.archived = True
            publish(library.pricing)
        assert "Price list overview" not in titles(run_search(library.marketer, "price list"))

    # --- hostile content ------------------------------------------------------------------
    def test_html_in_text_comes_back_escaped_in_highlights(self, library):
        hit = run_search(library.outsider, "handlers").hits[0]
        assert hit.fields["title"].startswith("<script>")  # stored as typed, escaped on output
        assert "<mark>handlers</mark>" in hit.highlight
        assert "<img" not in hit.highlight and "<b>" not in hit.highlight
        assert "&lt;img src=x onerror=alert(1)&gt;" in hit.highlight

    # --- facets, sort, pages --------------------------------------------------------------
    def test_facet_counts_follow_the_active_filters(self, library):
        narrowed = run_search(library.insider, filters={"stage": ("decide",)})
        assert sorted(titles(narrowed)) == ["Acme battlecard", "Zephyrine secret plan"]
        assert facet(narrowed, "type") == {"battlecard": 1, "deck": 1}
        assert facet(narrowed, "competitor") == {"acme": 1, "globex": 1}
        # The stage facet still offers the other stages, counted under the other filters.
        assert facet(narrowed, "stage")["discover"] >= 2

    def test_filters_on_two_facets_combine(self, library):
        found = run_search(library.insider, filters={"stage": ("decide",), "type": ("deck",)})
        assert titles(found) == ["Zephyrine secret plan"]
        assert facet(found, "type") == {"battlecard": 1, "deck": 1}

    def test_values_within_a_facet_are_alternatives(self, library):
        found = run_search(library.outsider, filters={"stage": ("decide", "evaluate")})
        assert sorted(titles(found)) == ["Acme battlecard", "Price list overview"]

    def test_newest_sort_puts_latest_first(self, library):
        from cms.models import AssetPage

        AssetPage.objects.filter(pk=library.mention.pk).update(
            first_published_at=timezone.now() + timedelta(days=1)
        )
        services.index_assets(asset_ids=[library.mention.pk])
        found = run_search(library.outsider, sort="newest")
        assert titles(found)[0] == "Analyst notes"

    def test_most_effective_sort_and_boost_use_analytics_signals(self, library, monkeypatch):
        signals = {library.roadmap.pk: {"effectiveness": 0.9, "popularity": 0.8}}
        monkeypatch.setattr(
            "search.documents.asset_ranking_signals",
            lambda ids: {i: signals[i] for i in ids if i in signals},
        )
        services.index_assets(asset_ids=[library.roadmap.pk])
        assert titles(run_search(library.outsider, sort="effective"))[0] == "Roadmap briefing"
        assert titles(run_search(library.outsider))[0] == "Roadmap briefing"

    def test_pages_split_results_without_overlap(self, library):
        first = run_search(library.outsider, per_page=3, page=1)
        second = run_search(library.outsider, per_page=3, page=2)
        assert first.total == second.total >= 6
        assert len(first.hits) == 3
        assert not set(titles(first)) & set(titles(second))
        assert first.pages == -(-first.total // 3)

    # --- deal mode ------------------------------------------------------------------------
    def test_deal_mode_ranks_context_first_and_says_why(self, library, monkeypatch):
        monkeypatch.setattr(
            "search.documents.asset_ranking_signals",
            lambda ids: {i: {"effectiveness": 0.8} for i in ids if i == library.battlecard.pk},
        )
        services.index_assets(asset_ids=[library.battlecard.pk])
        deal = DealContext(stage="decide", competitor="acme", industry="fintech")
        found = run_search(library.outsider, deal=deal)
        top = found.hits[0]
        assert top.fields["title"] == "Acme battlecard"
        assert top.reasons == [
            "Decide stage",
            "Fintech industry",
            "Against Acme",
            "helps win deals",
        ]
        assert found.total == run_search(library.outsider).total  # ranks, never hides
        assert all(not hit.reasons for hit in run_search(library.outsider).hits)

    # --- suggestions ----------------------------------------------------------------------
    def test_suggestions_complete_titles_despite_a_typo(self, library):
        audience = audience_for(library.outsider)
        assert selectors.search_suggest(audience=audience, text="battlecr")[0].label == (
            "Acme battlecard"
        )
        assert "Acme battlecard" in [
            s.label for s in selectors.search_suggest(audience=audience, text="batlec")
        ]

    def test_suggestions_offer_what_the_search_finds(
        self, library, django_capture_on_commit_callbacks
    ):
        """Suggestions follow the search's typo rule: within typos only when no asset has
        the words as typed. "APAC" suggested "Pricing and packaging overview" (a typo from
        "pac…") while the search found the asset that says APAC; "pipewi" suggested every
        "pipeline" title beside the Pipewise one."""
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Switching from Pipewise")
            make_asset("Pipeline health dashboard")
            make_asset("Packaging tiers", summary="Plans and their limits")
            make_asset("Regional pricing", summary="List prices for APAC and EMEA")
        assert suggested(library.outsider, "pipewi") == ["Switching from Pipewise"]
        assert "Packaging tiers" not in suggested(library.outsider, "apac")
        for text in ("pipewi", "apac", "batlec", "roadm", "acme batt", "pipewu"):
            found = set(titles(run_search(library.outsider, text, per_page=50)))
            offered = [
                s.label
                for s in selectors.search_suggest(
                    audience=audience_for(library.outsider), text=text
                )
                if s.kind == "asset"
            ]
            assert set(offered) <= found, text
        # A typo in the word being typed: the search finds what suggestions offer, and says
        # that these are close matches.
        batlec = run_search(library.outsider, "batlec")
        assert ("Acme battlecard" in titles(batlec), batlec.within_typos) == (True, True)
        assert suggested(library.outsider, "pipewu") == ["Switching from Pipewise"]

    def test_suggestions_offer_taxonomy_terms(self, library):
        found = selectors.search_suggest(audience=audience_for(library.outsider), text="acm")
        term = [s for s in found if s.kind == "competitor"]
        assert [(s.label, s.value) for s in term] == [("Acme", "acme")]
        assert term[0].url.endswith("?competitor=acme")

    # --- writes ---------------------------------------------------------------------------
    def test_indexing_twice_keeps_one_copy(self, library):
        services.index_assets(asset_ids=[library.roadmap.pk])
        services.index_assets(asset_ids=[library.roadmap.pk])
        assert titles(run_search(library.outsider, "roadmap briefing")) == ["Roadmap briefing"]

    def test_rebuild_swaps_in_a_complete_index(self, library, engine):
        engine.delete([library.roadmap.pk])
        assert selectors.index_check().missing == [library.roadmap.pk]
        count = services.index_rebuild(batch_size=3)
        assert count == run_search(library.marketer).total
        assert selectors.index_check().ok
        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"

    # --- engine down ----------------------------------------------------------------------
    def test_engine_down_raises_search_unavailable(self, library, broken_engine):
        with use_engine(broken_engine):
            with pytest.raises(SearchUnavailable):
                run_search(library.outsider, "roadmap")
            with pytest.raises(SearchUnavailable):
                selectors.search_suggest(audience=audience_for(library.outsider), text="road")
            assert broken_engine.health().ok is False

    def test_engine_down_shows_reps_a_clear_message(self, library, broken_engine, client):
        client.force_login(library.outsider)
        with use_engine(broken_engine):
            page = client.get("/search/", {"q": "roadmap"})
            partial = client.get("/search/", {"q": "roadmap"}, HTTP_X_SEARCH_PARTIAL="1")
            api = client.get("/api/v1/search", {"q": "roadmap"})
            typed = [client.get(url, {"q": "road"}) for url in SUGGEST_URLS]
        assert page.status_code == 503
        assert "Search is unavailable right now" in page.content.decode()
        assert api.status_code == 503
        assert api.json() == {"detail": "search is unavailable; try again shortly"}
        # each says when to ask again: once the breaker lets a request through
        for response in (page, partial, api, *typed):
            assert response.status_code == 503
            assert response["Retry-After"] == str(settings.SEARCH_COOLDOWN_SECONDS)

    # --- index deleted ---------------------------------------------------------------------
    def test_a_deleted_index_is_unavailable_records_no_gap_and_is_restored(
        self, library, engine, index_deleted, client, django_capture_on_commit_callbacks
    ):
        """Someone deleted the index (a DELETE on the server, a wiped node, the index directory
        removed) while the library has live assets: reps are told search is unavailable, not
        "Nothing matches", none of their searches is recorded (so no content gap), nothing
        makes an empty or partial index in its place (the scheduler's health check, searches,
        suggestions, a publish) and the scheduler's ``index_restore`` rebuilds it from the
        database, after which the same search finds the asset again."""
        from search.models import PendingIndexUpdate, SearchEvent
        from tests.factories import make_asset

        assert titles(run_search(library.outsider, "roadmap"))[0] == "Roadmap briefing"
        index_deleted()
        assert engine.health().missing  # the scheduler's check, as at its next tick
        client.force_login(library.outsider)
        for _ in range(2):  # the first one found it gone; the second asks afresh
            page = client.get("/search/", {"q": "roadmap"})
            assert page.status_code == 503
            assert "Search is unavailable right now" in page.content.decode()
            assert "Nothing matches" not in page.content.decode()
        api = client.get("/api/v1/search", {"q": "roadmap"})
        assert (api.status_code, api.json()) == (503, UNAVAILABLE_ANSWER)
        for url in SUGGEST_URLS:
            assert client.get(url, {"q": "road"}).status_code == 503
        services.search_events_flush()
        assert not SearchEvent.objects.exists()
        assert selectors.search_gaps(since=timezone.now() - timedelta(days=1))["zero_results"] == []
        with django_capture_on_commit_callbacks(execute=True):  # waits: no index of one asset
            late = make_asset("Penguin roadmap addendum")
        assert PendingIndexUpdate.objects.filter(asset_id=late.pk).exists()
        assert engine.health().missing

        assert services.index_restore() == run_search(library.marketer).total

        page = client.get("/search/", {"q": "roadmap"})
        assert page.status_code == 200 and "Roadmap briefing" in page.content.decode()
        found = titles(run_search(library.outsider, "roadmap"))
        assert {"Roadmap briefing", "Penguin roadmap addendum"} <= set(found)
        assert not PendingIndexUpdate.objects.exists()
        assert services.index_restore() is None  # healed: nothing more to do

    def test_publishing_while_engine_down_succeeds_and_catches_up(
        self, library, broken_engine, engine, django_capture_on_commit_callbacks
    ):
        from search.models import PendingIndexUpdate
        from tests.factories import make_asset

        with use_engine(broken_engine), django_capture_on_commit_callbacks(execute=True):
            late = make_asset("Outage survival guide", summary="Written while search was down.")
        assert late.live
        assert PendingIndexUpdate.objects.filter(asset_id=late.pk).exists()
        assert titles(run_search(library.outsider, "outage")) == []
        with django_capture_on_commit_callbacks(execute=True):
            publish(library.roadmap)  # the next successful write replays the pending one
        assert titles(run_search(library.outsider, "outage")) == ["Outage survival guide"]
        assert not PendingIndexUpdate.objects.exists()

    # --- writes that fail: nothing is lost, nothing stale is shown -------------------------
    @pytest.fixture
    def failing_writes(self, engine, monkeypatch):
        """The engine answers searches but every write fails (a full disk, a read-only index,
        a bug): ``error`` is what the writes raise; clear it to let the engine recover."""
        state = {"error": None}

        def wrap(method):
            def write(*args, **kwargs):
                if state["error"] is not None:
                    raise state["error"]
                return method(*args, **kwargs)

            return write

        for name in ("upsert", "delete"):
            monkeypatch.setattr(engine, name, wrap(getattr(engine, name)))
        return state

    @pytest.mark.parametrize("change", ["restrict", "restrict_section", "unpublish", "delete"])
    def test_permission_change_during_failed_writes_is_never_lost(
        self, library, failing_writes, change, django_capture_on_commit_callbacks
    ):
        from cms.models import AssetPage
        from search.models import PendingIndexUpdate
        from tests.factories import make_asset, make_section

        with django_capture_on_commit_callbacks(execute=True):
            section = make_section("Open section")
            target = make_asset("Yonder pricing sheet", parent=section)
        assert titles(run_search(library.outsider, "yonder")) == ["Yonder pricing sheet"]

        failing_writes["error"] = OSError(28, "No space left on device")
        with django_capture_on_commit_callbacks(execute=True):
            if change == "restrict":
                target.restricted_teams.set([library.emea])
                publish(target)
            elif change == "restrict_section":
                section.restricted_teams.set([library.emea])
                publish(section)
            elif change == "unpublish":
                target.unpublish()
            else:
                AssetPage.objects.get(pk=target.pk).delete()
        pending = PendingIndexUpdate.objects.get(asset_id=target.pk)
        assert "No space left on device" in pending.error
        # The index still holds the old entry, but search leaves the asset out everywhere.
        for user in (library.outsider, library.insider, library.marketer):
            assert titles(run_search(user, "yonder")) == []
            assert "Yonder pricing sheet" not in titles(run_search(user, per_page=50))
        suggested = selectors.search_suggest(audience=audience_for(library.outsider), text="yond")
        assert suggested == []

        failing_writes["error"] = None  # the engine recovers; the next write replays
        with django_capture_on_commit_callbacks(execute=True):
            publish(library.roadmap)
        assert not PendingIndexUpdate.objects.exists()
        assert titles(run_search(library.outsider, "yonder")) == []
        insider_sees = change in ("restrict", "restrict_section")
        expected = ["Yonder pricing sheet"] if insider_sees else []
        assert titles(run_search(library.insider, "yonder")) == expected

    def test_any_exception_in_a_write_is_recorded_and_replayed(
        self, library, failing_writes, django_capture_on_commit_callbacks
    ):
        from search.models import PendingIndexUpdate
        from tests.factories import make_asset

        failing_writes["error"] = KeyError("not an I/O error at all")
        with django_capture_on_commit_callbacks(execute=True):
            late = make_asset("Quokka playbook")
        assert late.live  # publishing succeeded
        assert "KeyError" in PendingIndexUpdate.objects.get(asset_id=late.pk).error
        failing_writes["error"] = None
        outcome = services.index_assets(asset_ids=[])  # a catch-up with nothing new
        assert outcome.ok and outcome.indexed >= 1
        assert titles(run_search(library.outsider, "quokka")) == ["Quokka playbook"]

    def test_change_whose_index_task_never_ran_is_hidden_until_it_runs(
        self, library, django_capture_on_commit_callbacks
    ):
        """The worker is down: the restriction is committed, its index task is not run."""
        with django_capture_on_commit_callbacks(execute=False):
            library.battlecard.restricted_teams.set([library.na])
            publish(library.battlecard)
        assert titles(run_search(library.outsider, "battlecard")) == []
        assert titles(run_search(library.na_rep, "battlecard")) == []
        assert facet(run_search(library.outsider), "competitor").get("acme") is None
        services.index_assets(asset_ids=[])  # the worker comes back
        assert titles(run_search(library.outsider, "battlecard")) == []
        assert titles(run_search(library.na_rep, "battlecard")) == ["Acme battlecard"]

    def test_search_is_unavailable_when_too_many_updates_wait(self, library, monkeypatch):
        monkeypatch.setattr("search.selectors.MAX_HIDDEN", 2)
        services.pending_request(asset_ids=[library.roadmap.pk, library.pricing.pk])
        assert run_search(library.outsider).total > 0
        services.pending_request(asset_ids=[library.mention.pk])
        with pytest.raises(SearchUnavailable, match="index updates are waiting"):
            run_search(library.outsider)

    # --- synonyms -----------------------------------------------------------------------------
    @pytest.fixture
    def roi_library(self, library, django_capture_on_commit_callbacks):
        """Two assets that say ROI in different words, and marketers' synonym sets."""
        from tests.factories import make_asset

        with django_capture_on_commit_callbacks(execute=True):
            library.spelled_out = make_asset(
                "Payback workbook",
                summary="Model the return on investment of a rollout, month by month.",
            )
            library.acronym = make_asset(
                "ROI calculator", summary="Plug in seats and price; see the ROI."
            )
        set_synonyms(
            "# words reps and marketers use for the same thing\n"
            "roi, return on investment\n"
            "battlecard, competitive card\n"
        )
        return library

    def test_synonym_finds_an_asset_that_uses_the_other_term_and_says_so(self, roi_library):
        found = run_search(roi_library.outsider, "roi")
        assert sorted(titles(found)) == ["Payback workbook", "ROI calculator"]
        marks = {hit.fields["title"]: hit.synonym_of for hit in found.hits}
        assert marks == {"Payback workbook": ["roi"], "ROI calculator": []}
        assert titles(found)[0] == "ROI calculator"  # the typed word outranks its synonym

    def test_a_multi_word_term_finds_its_one_word_synonym(self, roi_library):
        found = run_search(roi_library.outsider, "return on investment")
        marks = {hit.fields["title"]: hit.synonym_of for hit in found.hits}
        assert marks == {"Payback workbook": [], "ROI calculator": ["return on investment"]}

    def test_a_synonym_term_typed_is_completed_with_titles_of_its_synonyms(self, roi_library):
        def suggested(text: str) -> list[str]:
            audience = audience_for(roi_library.outsider)
            found = selectors.search_suggest(audience=audience, text=text)
            return [s.label for s in found if s.kind == "asset"]

        assert suggested("competitive card") == ["Acme battlecard"]
        assert suggested("roi") == ["ROI calculator"]  # its own title first, once
        # the start of a term, as the rep types it
        assert suggested("competitive ca") == ["Acme battlecard"]
        assert suggested("return on inv") == ["ROI calculator"]
        assert suggested("competitive cx") == []
        assert suggested("on investment") == []  # a term's middle is not its start
        set_synonyms("")
        assert suggested("competitive card") == []
        assert suggested("competitive ca") == []

    def test_synonyms_combine_with_the_other_words_typed(self, roi_library):
        found = run_search(roi_library.outsider, "rollout roi")
        assert titles(found) == ["Payback workbook"]
        assert found.hits[0].synonym_of == ["roi"]
        assert titles(run_search(roi_library.outsider, "competitive card")) == ["Acme battlecard"]
        # without the set, the same text finds nothing
        set_synonyms("")
        assert titles(run_search(roi_library.outsider, "competitive card")) == []

    def test_synonym_matches_a_phrase_not_scattered_words(self, roi_library):
        from tests.factories import make_asset

        make_asset("Scattered", summary="Investment advice; the return desk is on floor two.")
        make_asset("Hole filled", summary="Our return of investment doubled.")
        services.index_assets(asset_ids=[])
        assert "Scattered" in titles(run_search(roi_library.outsider, "investment return"))
        found = run_search(roi_library.outsider, "roi")
        assert "Scattered" not in titles(found)
        # "on" is too common to search: any word may stand in its place in the phrase
        assert "Hole filled" in titles(found)

    def test_a_phrase_or_its_synonym_ranks_above_the_typed_words_scattered_across_fields(
        self, library, django_capture_on_commit_callbacks
    ):
        """ "success story" with the set "case study, customer story, success story": the
        assets saying "success story", or a synonym of it, come before the decks that have
        "story" in their title and summary and "success" in their body. Outside audit 47, F4:
        on the servers such decks came first (a phrase counted only its best field there)."""
        from tests.factories import make_asset

        case_studies = ("Harbor Mutual", "Ironvale", "Kestrel Foods", "Larkspur")
        decks = ("Catalog", "Observe", "Pipelines")
        with django_capture_on_commit_callbacks(execute=True):
            for customer in case_studies:
                make_asset(
                    f"{customer} case study",
                    asset_type="case-study",
                    summary=f"How {customer} cut reporting time by 40%.",
                    body="<p>This case study covers one quarter. Case study approved.</p>",
                )
            make_asset("Quarter in review", summary="Our best success story this year.")
            make_asset("Plant rollout", body="<p>Read the customer story of the rollout.</p>")
            for product in decks:
                make_asset(
                    f"{product} first-meeting story",
                    asset_type="deck",
                    summary=f"The story of {product} for data leaders.",
                    body="<p>Next steps: agree two success criteria with the buyer.</p>",
                )
        set_synonyms("case study, customer story, success story")
        found = titles(run_search(library.outsider, "success story", per_page=50))
        assert sorted(found[-3:]) == [f"{product} first-meeting story" for product in decks]
        assert sorted(found[:-3]) == sorted(
            [f"{customer} case study" for customer in case_studies]
            + ["Globex case study", "Plant rollout", "Quarter in review"]
        )
        quoted = titles(run_search(library.outsider, '"success story"', per_page=50))
        assert quoted and not {title for title in quoted if "first-meeting" in title}

    def test_a_synonym_with_a_decimal_number_finds_its_text(self, proof_points):
        set_synonyms("uptime, 99.95%")
        found = run_search(proof_points.outsider, "uptime")
        assert titles(found) == ["Sync reliability report"]
        assert found.hits[0].synonym_of == ["uptime"]

    def test_synonyms_never_reveal_a_restricted_asset(
        self, roi_library, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            roi_library.spelled_out.restricted_teams.set([roi_library.emea])
            publish(roi_library.spelled_out)
        assert titles(run_search(roi_library.outsider, "roi")) == ["ROI calculator"]
        assert "Payback workbook" in titles(run_search(roi_library.insider, "roi"))

    # --- text with no searchable word -------------------------------------------------------
    @pytest.mark.parametrize("text", ["🚚", "((((", "%", '""', "the", "of the"])
    def test_text_with_no_searchable_word_matches_nothing(self, library, text):
        found = run_search(library.outsider, text)
        assert (found.total, found.hits) == (0, [])
        assert all(not buckets for buckets in found.facets.values())
        assert found.reason.startswith(f"no searchable words in “{text}”")
        filtered = run_search(library.outsider, text, filters={"stage": ("discover",)})
        assert filtered.total == 0

    def test_stop_words_are_left_out_beside_real_words(self, library):
        assert titles(run_search(library.outsider, "the roadmap of"))[0] == "Roadmap briefing"
        assert run_search(library.outsider, "the roadmap").reason == ""
        assert run_search(library.outsider, "").reason == ""
        assert run_search(library.outsider, "").total > 5  # an empty box still browses

    # --- where it matched: pages and slides ---------------------------------------------------
    @pytest.fixture
    def deck(self, library, django_capture_on_commit_callbacks):
        """A 60-slide deck whose answer is on slide 41, as processing would store it."""
        slides = [f"Slide {n}: onboarding checklist for new reps." for n in range(1, 61)]
        slides[40] = "Marzipan pricing tiers for onboarding. <img src=x onerror=alert(1)>"
        slides[9] = "Our return on investment story."
        library.deck = deck_asset("Enablement deck", slides, django_capture_on_commit_callbacks)
        return library

    def test_a_hit_lists_the_slide_where_it_matched(self, deck):
        hit = run_search(deck.outsider, "marzipan").hits[0]
        assert hit.fields["title"] == "Enablement deck"
        assert [match.page for match in hit.matches] == [41]
        assert "<mark>Marzipan</mark>" in hit.matches[0].highlight
        assert "&lt;img src=x onerror=alert(1" in hit.matches[0].highlight
        assert "<img" not in hit.matches[0].highlight

    def test_at_most_three_pages_best_first_then_in_page_order(self, deck):
        hit = run_search(deck.outsider, "onboarding").hits[0]
        assert [match.page for match in hit.matches] == [1, 2, 3]
        hit = run_search(deck.outsider, "onboarding marzipan").hits[0]
        assert [match.page for match in hit.matches] == [41, 1, 2]

    def test_pages_match_through_typos_and_synonyms(self, deck):
        assert [m.page for m in run_search(deck.outsider, "marzipna").hits[0].matches] == [41]
        set_synonyms("roi, return on investment")
        hit = run_search(deck.outsider, "roi").hits[0]
        assert [match.page for match in hit.matches] == [10]

    def test_a_page_found_through_a_typo_highlights_the_word(self, deck):
        hit = run_search(deck.outsider, "marzipna").hits[0]
        assert "<mark>Marzipan</mark>" in hit.matches[0].highlight

    def test_pages_change_no_hit_count_order_or_facet(self, deck):
        for text in ("onboarding", "marzipan", "slide reps", "zzzz"):
            with_pages = run_search(deck.insider, text)
            without = run_search(deck.insider, text, highlight=False)
            assert titles(with_pages) == titles(without)
            assert with_pages.total == without.total
            assert {n: facet(with_pages, n) for n in with_pages.facets} == {
                n: facet(without, n) for n in without.facets
            }
            assert all(not hit.matches for hit in without.hits)

    def test_no_pages_without_text_or_for_a_file_without_pages(self, deck):
        assert all(not hit.matches for hit in run_search(deck.outsider).hits)
        found = run_search(deck.outsider, "kaleidoscope quarterly")  # the case study's PDF
        assert all(not hit.matches for hit in found.hits)

    def test_restricted_assets_pages_never_appear_for_a_rep_without_access(
        self, library, django_capture_on_commit_callbacks
    ):
        from tests.factories import make_section

        with django_capture_on_commit_callbacks(execute=True):
            section = make_section("EMEA decks", teams=[library.emea])
        slides = ["Intro", "Zanzibar discount ladder"]
        deck_asset("EMEA pricing deck", slides, django_capture_on_commit_callbacks, parent=section)
        outsider = run_search(library.outsider, "zanzibar")
        assert (outsider.total, outsider.hits) == (0, [])
        insider = run_search(library.insider, "zanzibar")
        assert [m.page for hit in insider.hits for m in hit.matches] == [2]

    def test_deleting_an_assets_file_removes_its_text_and_pages_from_search(
        self, library, django_capture_on_commit_callbacks
    ):
        """Deleting the document clears the asset's link to it in the database, without a
        signal for the asset: its text and page matches leave search with the document."""
        from cms.models import LibraryDocument

        slides = ["Quince overview", "Orchard rebate ladder"]
        deck = deck_asset("Quince deck", slides, django_capture_on_commit_callbacks)
        assert [m.page for m in run_search(library.outsider, "orchard").hits[0].matches] == [2]
        with django_capture_on_commit_callbacks(execute=True):
            LibraryDocument.objects.get(pk=deck.document_id).delete()
        assert run_search(library.outsider, "orchard").total == 0
        assert run_search(library.outsider, "kaleidoscope").total == 1  # other files stay
        found = run_search(library.outsider, "quince")
        assert titles(found) == ["Quince deck"]
        assert found.hits[0].matches == []

    def test_a_document_processed_again_with_new_text_updates_its_pages(
        self, library, django_capture_on_commit_callbacks
    ):
        from django.core.files.base import ContentFile

        from tests.cms.builders import make_pdf
        from tests.factories import make_asset, make_document

        with django_capture_on_commit_callbacks(execute=True):
            pdf = make_document("plan.pdf", make_pdf(["Territory basics", "Xylophone yodelling"]))
        with django_capture_on_commit_callbacks(execute=True):
            make_asset("Territory plan", document=pdf)
        hit = run_search(library.outsider, "xylophone").hits[0]
        assert [match.page for match in hit.matches] == [2]

        with django_capture_on_commit_callbacks(execute=True):
            pdf.file.save("plan-v2.pdf", ContentFile(make_pdf(["Xylophone first"])), save=False)
            pdf.save()
        hit = run_search(library.outsider, "xylophone").hits[0]
        assert [(m.page, str(m.highlight)) for m in hit.matches] == [
            (1, "<mark>Xylophone</mark> first")
        ]
        assert run_search(library.outsider, "yodelling").total == 0


def suggested(user, text: str) -> list[str]:
    """The labels suggested to ``user`` typing ``text``."""
    return [s.label for s in selectors.search_suggest(audience=audience_for(user), text=text)]


def deck_asset(title: str, slides: list[str], capture, **fields):
    """A published deck asset whose file was processed into ``slides``."""
    from cms.models import LibraryDocument, LibraryDocumentPage
    from tests.factories import make_asset, make_document

    document = make_document(f"{title}.pptx", b"not read: pages are stored as processed")
    LibraryDocumentPage.objects.bulk_create(
        LibraryDocumentPage(document=document, number=n, text=text)
        for n, text in enumerate(slides, start=1)
    )
    LibraryDocument.objects.filter(pk=document.pk).update(
        extracted_text="\n\n".join(slides),
        page_count=len(slides),
        extraction_status=LibraryDocument.Status.DONE,
    )
    with capture(execute=True):
        return make_asset(title, document=document, **fields)
