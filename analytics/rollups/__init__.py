"""Declared rollups, filled incrementally with a fill state each (see ``registry`` for the
list and ``fill`` for how a run fills them). Dashboards read only the rollups."""

from analytics.rollups.fill import AnalyticsLocked, rollups_fill

__all__ = ["AnalyticsLocked", "rollups_fill"]
