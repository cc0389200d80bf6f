"""Declared rollups, filled incrementally with a fill state each (see ``registry`` for the
list and ``fill.rollups_fill`` for how a run fills them). Dashboards read only the rollups."""
