"""Reads over analytics data."""

from __future__ import annotations


def asset_ranking_signals(asset_ids: list[int] | None = None) -> dict[int, dict]:
    """Ranking signals search blends into relevance, keyed by asset id.

    Each value is ``{"effectiveness": float, "popularity": float, "won_deals": bool}`` with
    effectiveness and popularity in [0, 1]; 0 means neutral. An asset gets a non-zero
    effectiveness only when its lift interval excludes zero. Missing assets are neutral.
    """
    return {}
