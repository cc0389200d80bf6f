"""An alias (Wagtail's "Create alias": the same asset placed again in another section) is one
asset to the people who measure content: what reps do with the alias counts for its
original, and the dashboards, the coverage matrix and the review queue list the asset once."""

import datetime
import importlib

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.models import AssetFeedback, EventKind, OutdatedReview, ShareLink, UsageEvent
from analytics.outdated_reviews import outdated_reports
from analytics.selectors import asset_table, content_health
from analytics.services import feedback_create
from analytics.usage import share_link_create, usage_record
from cms.models import AssetPage
from cms.selectors import asset_originals, assets_needing_review, assets_related, coverage_matrix
from tests.analytics.helpers import refresh, send_events, spooled_view, walk_deal
from tests.factories import make_asset, make_section, make_team, make_user

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 1, 5)


def _alias(asset: AssetPage, section_title: str, slug: str) -> AssetPage:
    made = asset.create_alias(parent=make_section(section_title), update_slug=slug)
    return AssetPage.objects.get(pk=made.pk)


@pytest.fixture
def placed_twice():
    """A battlecard in "Competitors", placed again in "Field kit" and, from there, in
    "Onboarding" (an alias of an alias)."""
    original = make_asset("Acme battlecard", parent=make_section("Competitors"))
    alias = _alias(original, "Field kit", "acme-kit")
    again = _alias(alias, "Onboarding", "acme-onboarding")
    return original, alias, again


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_each_alias_maps_to_the_page_its_chain_starts_from(placed_twice):
    original, alias, again = placed_twice
    other = make_asset("Pricing")
    assert asset_originals([original.pk, alias.pk, again.pk, other.pk, 999_999]) == {
        original.pk: original.pk,
        alias.pk: original.pk,
        again.pk: original.pk,
        other.pk: other.pk,
    }


def test_a_rep_opening_an_alias_is_a_view_of_the_original(placed_twice):
    original, alias, again = placed_twice
    client = _client(make_user(role=REP))
    for page in (original, alias, again):
        assert client.get(page.url).status_code == 200
    views = UsageEvent.objects.filter(kind=EventKind.VIEWED)
    assert list(views.values_list("asset_id", flat=True)) == [original.pk] * 3


def test_events_sent_naming_an_alias_are_stored_under_the_original(placed_twice):
    original, _, again = placed_twice
    result = send_events(("k1", "asset_presented", again, "", DAY))
    assert result.stored == 1 and not result.errors
    assert list(UsageEvent.objects.values_list("asset_id", flat=True)) == [original.pk]


def test_an_alias_the_sender_may_not_see_is_refused_like_a_missing_asset():
    board = make_team("Board")
    original = make_asset("Merger memo", parent=make_section("Open"))
    hidden = original.create_alias(
        parent=make_section("Board room", teams=[board]), update_slug="memo"
    )
    rep = make_user(role=REP)
    result = send_events(("k1", "asset_presented", hidden, "", DAY), user=rep)
    assert result.errors == [{"index": 0, "field": "asset_id", "error": f"no asset {hidden.pk}"}]
    assert not UsageEvent.objects.exists()


def test_a_link_made_from_an_alias_is_to_the_original_and_outlives_the_alias(placed_twice):
    original, alias, _ = placed_twice
    rep = make_user(role=REP)
    deal = walk_deal("D1", ["discover"], owner=rep.username)
    link, token = share_link_create(user=rep, asset=alias, deal=deal)
    assert link.asset_id == original.pk
    assert UsageEvent.objects.get(kind=EventKind.SHARED).asset_id == original.pk
    alias.delete()  # the marketer takes the battlecard out of the field kit
    assert ShareLink.objects.filter(pk=link.pk).exists()
    assert Client().get(f"/s/{token}/").status_code == 200


def test_reps_calling_it_outdated_in_either_place_count_together(placed_twice, settings):
    settings.OUTDATED_FEEDBACK_THRESHOLD = 2
    original, alias, _ = placed_twice
    feedback_create(user=make_user(role=REP), asset=alias, kind="outdated", text="Old logo")
    assert not OutdatedReview.objects.exists()
    feedback_create(user=make_user(role=REP), asset=original, kind="outdated")
    assert OutdatedReview.objects.get().asset_id == original.pk
    assert set(AssetFeedback.objects.values_list("asset_id", flat=True)) == {original.pk}


def test_the_dashboard_lists_the_asset_once_with_all_of_its_use(placed_twice):
    original, alias, again = placed_twice
    rep = make_user(role=REP)
    for page in (original, alias, again):
        usage_record(kind=EventKind.VIEWED, asset=page, user=rep)
    refresh()
    rows = {row["asset_id"]: row for row in asset_table(window="all")[0]}
    assert list(rows) == [original.pk]
    assert rows[original.pk]["views"] == 3
    lead = _client(make_user(role=ENABLEMENT_LEAD))
    body = lead.get("/api/v1/analytics/assets?window=all").json()
    assert [(row["asset_id"], row["views"]) for row in body["assets"]] == [(original.pk, 3)]


def test_an_alias_of_a_used_asset_is_not_listed_as_unused(placed_twice):
    original, alias, _ = placed_twice
    usage_record(kind=EventKind.VIEWED, asset=original, user=make_user(role=REP))
    refresh()
    health = content_health()
    assert [a["title"] for a in health["unused"] + health["not_used_yet"]] == []


def test_coverage_review_and_related_count_the_asset_once(placed_twice):
    original, alias, again = placed_twice
    AssetPage.objects.filter(pk__in=[original.pk, alias.pk, again.pk]).update(
        review_by=datetime.date(2020, 1, 1)
    )
    cell = next(
        cell
        for row in coverage_matrix()
        for cell in row["cells"]
        if row["stage"].slug == "discover" and cell["pillar"].slug == "why-buy"
    )
    assert cell["count"] == 1
    assert [a.pk for a in assets_needing_review()] == [original.pk]
    rep = make_user(role=REP)
    neighbour = make_asset("Acme pricing")
    assert [a.pk for a in assets_related(rep, neighbour)] == [original.pk]
    # an alias's page does not offer its own original as another asset
    assert [a.pk for a in assets_related(rep, again)] == [neighbour.pk]


def test_upgrading_moves_earlier_use_of_aliases_to_the_original_and_rebuilds(placed_twice):
    """Before this change an alias's use was stored under the alias's id: the migration moves
    it, and the next refresh rebuilds the rollups so the asset shows once with all of it."""
    original, alias, again = placed_twice
    rep = make_user(role=REP)
    usage_record(kind=EventKind.VIEWED, asset=original, user=rep)
    refresh()
    when = UsageEvent.objects.get().occurred_at
    for page in (alias, again):  # as the app stored them before
        UsageEvent.objects.create(
            sender="app",
            idempotency_key=f"old-{page.pk}",
            kind=EventKind.VIEWED,
            asset=page,
            user=rep,
            occurred_at=when,
        )
    AssetFeedback.objects.create(asset=alias, user=rep, kind="helpful")
    migration = importlib.import_module("analytics.migrations.0021_alias_use_is_the_originals")
    from django.apps import apps

    migration.move_to_originals(apps, None)
    assert set(UsageEvent.objects.values_list("asset_id", flat=True)) == {original.pk}
    assert AssetFeedback.objects.get().asset_id == original.pk
    refresh()
    rows = {row["asset_id"]: row for row in asset_table(window="all")[0]}
    assert list(rows) == [original.pk] and rows[original.pk]["views"] == 3


def test_the_alias_page_lists_the_link_the_rep_made_there(placed_twice):
    original, alias, _ = placed_twice
    rep = make_user(role=REP)
    deal = walk_deal("D1", ["discover"], owner=rep.username)
    client = _client(rep)
    assert "share-link-list" not in client.get(alias.url).content.decode()
    made = client.post(
        f"/analytics/assets/{alias.pk}/share/", {"deal": deal.pk, "recipient_note": "Dana, CFO"}
    )
    assert made.status_code == 302 and ShareLink.objects.get().asset_id == original.pk
    page = client.get(alias.url).content.decode()
    assert "share-link-list" in page and "Dana, CFO" in page


def test_the_leads_page_of_an_alias_is_its_originals(placed_twice):
    original, _, again = placed_twice
    lead = _client(make_user(role=ENABLEMENT_LEAD))
    response = lead.get(f"/analytics/assets/{again.pk}/?window=90d")
    assert response.status_code == 302
    assert response["Location"] == f"/analytics/assets/{original.pk}/?window=90d"


def test_the_alias_page_credits_the_rep_the_original_came_from(placed_twice):
    from analytics.models import FieldMaterial

    original, alias, _ = placed_twice
    maker = make_user("dana", role=REP, first_name="Dana", last_name="Field")
    FieldMaterial.objects.create(asset=original, submitted_by=maker, note="From my deal")
    page = _client(make_user(role=REP)).get(alias.url).content.decode()
    assert "From the field: made by Dana Field" in page


def test_an_alias_page_names_its_originals_owner(placed_twice):
    original, alias, _ = placed_twice
    noor = make_user("noor", role=MARKETER, first_name="Noor", last_name="Owner")
    AssetPage.objects.filter(pk=original.pk).update(owner=noor)
    AssetPage.objects.filter(pk=alias.pk).update(owner=make_user("alex", role=MARKETER))
    page = _client(make_user(role=REP)).get(alias.url).content.decode()
    assert "<dd>Noor Owner</dd>" in page and "<dd>alex</dd>" not in page


def test_an_event_spooled_under_an_alias_before_the_upgrade_is_stored_under_the_original(
    placed_twice,
):
    from analytics.usage import USAGE_SPOOL, usage_spool_replay

    original, _, again = placed_twice
    rep = make_user(role=REP)
    spooled = spooled_view("f00d", again.pk, rep)
    USAGE_SPOOL.put("f00d", spooled)
    assert usage_spool_replay() == 1
    assert UsageEvent.objects.get().asset_id == original.pk


def test_upgrading_moves_outdated_reviews_and_keeps_one_open_per_asset(placed_twice):
    original, alias, again = placed_twice
    rep, other = make_user(role=REP), make_user(role=REP)
    for page in (alias, again):  # as before the change: reviews opened on each alias
        for user in (rep, other):
            AssetFeedback.objects.create(asset=page, user=user, kind="outdated")
        OutdatedReview.objects.create(asset=page)
    last_year = timezone.now() - datetime.timedelta(days=365)
    answered = OutdatedReview.objects.create(asset=alias, resolved_at=last_year, reply="Ok")
    migration = importlib.import_module("analytics.migrations.0021_alias_use_is_the_originals")
    from django.apps import apps

    migration.move_to_originals(apps, None)
    open_reviews = OutdatedReview.objects.filter(resolved_at__isnull=True)
    assert list(open_reviews.values_list("asset_id", flat=True)) == [original.pk]
    assert OutdatedReview.objects.get(pk=answered.pk).asset_id == original.pk
    assert set(AssetFeedback.objects.values_list("asset_id", flat=True)) == {original.pk}
    # the open review is the owner's to answer, with every report on it
    reports = outdated_reports(asset=original)
    assert len(reports["feedback"]) == 4 and len(reports["reporters"]) == 2
