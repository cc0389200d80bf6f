"""What a rollup hands back to the fill: the row changes it computed by reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Writes:
    """Row changes a rollup computed by reading, or statements that compute them on the
    database. Each of ``steps`` runs in its own short transaction, the last together with the
    fill state; ``changed`` says whether dependants see a difference (the rollup's version
    moves). A step that computes on the database sets ``rows`` and ``changed`` itself when it
    runs: the fill reads them after the steps."""

    steps: list[Callable[[], None]] = field(default_factory=list)
    changed: bool = False
    rows: int = 0
