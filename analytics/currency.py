"""Money in one reporting currency, never summed raw.

Each deal keeps the currency the CRM gave it. Admins keep dated exchange rates (*Settings ->
Currency rates*, ``CurrencyRate``): from ``valid_from`` on, one unit of a currency is worth
``rate`` units of the reporting currency (``settings.ANALYTICS_CURRENCY``). An amount converts
at the rate valid on its deal's close date (the latest ``valid_from`` on or before it). An
amount with no such rate stays in its own currency: sums keep one converted total and a
per-currency remainder (``Money``), and every page shows both with their codes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings

from analytics.models import CurrencyRate


def reporting_currency() -> str:
    return settings.ANALYTICS_CURRENCY


@dataclass
class Money:
    """A sum over deals: ``amount`` in ``currency`` (the reporting one) plus, per currency
    code, what could not be converted (``unconverted``)."""

    currency: str
    amount: float = 0.0
    unconverted: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, value: float, converted: float | None, code: str) -> None:
        if converted is None:
            self.unconverted[code] += value
        else:
            self.amount += converted

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "amount": round(self.amount, 2),
            "unconverted": {code: round(v, 2) for code, v in sorted(self.unconverted.items())},
        }


class Rates:
    """Dated rates to the reporting currency, loaded once; ``convert`` is a lookup."""

    def __init__(self, rows: list[tuple[str, date, float]], currency: str):
        self.currency = currency.upper()
        self._days: dict[str, list[date]] = defaultdict(list)
        self._rates: dict[str, list[float]] = defaultdict(list)
        for code, valid_from, rate in sorted(rows, key=lambda row: (row[0].upper(), row[1])):
            self._days[code.upper()].append(valid_from)
            self._rates[code.upper()].append(float(rate))

    @classmethod
    def load(cls) -> Rates:
        rows = list(CurrencyRate.objects.values_list("currency", "valid_from", "rate"))
        return cls(rows, reporting_currency())

    def rate(self, code: str, on: date | None) -> float | None:
        """Units of the reporting currency per unit of ``code`` on day ``on``; None when no
        rate is valid then (or the day is unknown)."""
        code = (code or self.currency).upper()
        if code == self.currency:
            return 1.0
        days = self._days.get(code)
        if not days or on is None:
            return None
        index = bisect_right(days, on)
        return self._rates[code][index - 1] if index else None

    def convert(self, value: float, code: str, on: date | None) -> float | None:
        rate = self.rate(code, on)
        return None if rate is None else value * rate

    def money(self) -> Money:
        return Money(self.currency)


def money_text(money: dict | None) -> str:
    """``{"currency": "USD", "amount": 1200, "unconverted": {"EUR": 300}}`` ->
    "USD 1,200 + EUR 300 (no rate)"; the form every page and CSV cell uses."""
    if not money:
        return ""
    text = f"{money['currency']} {money['amount']:,.0f}"
    extra = [f"{code} {value:,.0f}" for code, value in (money.get("unconverted") or {}).items()]
    if extra:
        text += " + " + " + ".join(extra) + " (no rate)"
    return text
