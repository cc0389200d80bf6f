"""The statistics, as pure functions over plain numbers. Each docstring states its formula;
tests/analytics/test_stats.py checks each against numbers computed by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def win_rate(won: int, lost: int) -> float | None:
    """``won / (won + lost)``; None when there is no closed deal."""
    closed = won + lost
    return won / closed if closed else None


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p = x/n (Wilson 1927):

    ``(2np + z^2 -/+ z*sqrt(z^2 + 4np(1-p))) / (2(n + z^2))``.

    With n = 0 the interval is the whole of [0, 1].
    """
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = 2 * total * p + z * z
    spread = z * math.sqrt(z * z + 4 * total * p * (1 - p))
    denominator = 2 * (total + z * z)
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


@dataclass(frozen=True)
class Lift:
    """A difference of two proportions with its 95% interval."""

    lift: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Lift | None:
    """Newcombe's hybrid score interval (Newcombe 1998, method 10) for p1 - p2.

    With Wilson intervals (l1, u1) for p1 = x1/n1 and (l2, u2) for p2 = x2/n2 and D = p1 - p2:
    ``low = D - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``high = D + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. None when either side has no deals.
    """
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Lift(difference, low, high)


def lower_median(values: Sequence[int]) -> int | None:
    """The lower median of ``values`` (for an even count, the smaller middle value)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


# --- Attribution --------------------------------------------------------------------------

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
HALF_LIFE_DAYS = 7.0


@dataclass(frozen=True)
class Touch:
    asset_id: int
    day: date


def _weights(model: str, touches: Sequence[Touch], close: date | None) -> list[float]:
    count = len(touches)
    if model == "first_touch":
        return [1.0] + [0.0] * (count - 1)
    if model == "last_touch":
        return [0.0] * (count - 1) + [1.0]
    if model == "linear":
        return [1.0 / count] * count
    if model == "u_shaped":
        if count <= 2:
            return [1.0 / count] * count
        middle = 0.2 / (count - 2)
        return [0.4] + [middle] * (count - 2) + [0.4]
    if model == "time_decay":
        end = close or max(t.day for t in touches)
        raw = [2.0 ** (-max(0, (end - t.day).days) / HALF_LIFE_DAYS) for t in touches]
        total = sum(raw)
        return [value / total for value in raw]
    raise ValueError(f"unknown attribution model {model!r}")


def attribute(
    amount: float, touches: Sequence[Touch], close: date | None, model: str
) -> dict[int, float]:
    """Split a won deal's ``amount`` over its touches (ordered by time) under ``model``.

    - first_touch: 100% to the first touch; last_touch: 100% to the last.
    - linear: amount / n to each of the n touches.
    - u_shaped: 40% first, 40% last, 20% shared by the touches between; one touch gets 100%,
      two touches 50% each.
    - time_decay: weight ``2^(-d/7)`` where d is the whole days from the touch to the close
      date, normalised so the weights sum to 1.

    Credits add up per asset; their sum is ``amount`` (the invariant the tests check).
    """
    if not touches:
        return {}
    credit: dict[int, float] = {}
    for touch, weight in zip(touches, _weights(model, touches, close), strict=True):
        credit[touch.asset_id] = credit.get(touch.asset_id, 0.0) + amount * weight
    return credit
