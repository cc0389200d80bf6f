"""Ranking signals are handed to search and kept by search (``RankingSignal``): analytics calls
``ranking_signals_replace``; search re-indexes only the assets whose signals changed, gives the
"effective" boost only to assets analytics judged to help, and never reads analytics."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import documents, services
from search.models import PendingIndexUpdate, RankingSignal
from search.query import SIGNAL_THRESHOLD
from tests.factories import make_asset

pytestmark = pytest.mark.django_db
SEARCH = Path(__file__).resolve().parents[2] / "search"


def test_signals_are_stored_and_only_changed_assets_are_reindexed(active_engine, monkeypatch):
    helps, plain = make_asset("Proven"), make_asset("Plain")
    reindexed = []
    original = services.index_assets

    def spy(*, asset_ids):
        reindexed.append(sorted(asset_ids))
        return original(asset_ids=asset_ids)

    monkeypatch.setattr(services, "index_assets", spy)
    signals = {
        helps.pk: {"effective": 0.2, "popularity": 0.9},
        plain.pk: {"effective": 0.0, "popularity": 0.1},
    }
    assert services.ranking_signals_replace(signals=signals) == 2
    assert services.ranking_signals_replace(signals=signals) == 0  # nothing changed
    signals[plain.pk] = {"effective": 0.0, "popularity": 0.3}
    assert services.ranking_signals_replace(signals=signals) == 1
    assert reindexed == [sorted([helps.pk, plain.pk]), [plain.pk]]
    # an asset no longer listed becomes neutral (its row goes)
    assert services.ranking_signals_replace(signals={plain.pk: signals[plain.pk]}) == 1
    assert not RankingSignal.objects.filter(asset_id=helps.pk).exists()


def test_only_a_positive_effective_value_gives_the_effectiveness_boost():
    proven, unproven = make_asset("Proven"), make_asset("Unproven")
    RankingSignal.objects.create(asset_id=proven.pk, effective=0.2, popularity=0.1)
    RankingSignal.objects.create(asset_id=unproven.pk, effective=0.0, popularity=0.9)
    values = documents.asset_ranking_signals([proven.pk, unproven.pk])
    assert values[proven.pk]["effectiveness"] == pytest.approx(
        SIGNAL_THRESHOLD + (1 - SIGNAL_THRESHOLD) * 0.2
    )
    assert values[unproven.pk]["effectiveness"] == 0.0
    assert "effective" in documents.document_for_asset(proven.pk).signals
    assert "effective" not in documents.document_for_asset(unproven.pk).signals
    assert "popular" in documents.document_for_asset(unproven.pk).signals


def test_values_outside_the_unit_interval_are_refused_naming_the_asset():
    with pytest.raises(ValueError, match="asset 7"):
        services.ranking_signals_replace(signals={7: {"effective": 1.5}})
    assert not RankingSignal.objects.exists()


def test_with_the_engine_down_the_signals_are_kept_and_the_assets_wait(down_engine):
    from search.engines import use_engine

    asset = make_asset("Proven")
    with use_engine(down_engine):
        changed = services.ranking_signals_replace(signals={asset.pk: {"effective": 0.3}})
    assert changed == 1 and RankingSignal.objects.get().effective == 0.3
    assert PendingIndexUpdate.objects.filter(asset_id=asset.pk).exists()


def test_search_reads_its_signals_from_its_own_model_not_from_analytics():
    for name in ("documents.py", "models.py"):
        text = (SEARCH / name).read_text()
        assert "from analytics" not in text and "import analytics" not in text, name
