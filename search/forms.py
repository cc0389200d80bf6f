"""Turn request parameters (the search page's query string or the API's) into a SearchQuery.

Both the page and the API accept the same parameters, derived from the taxonomy
(``cms.taxonomy``) and the search schema: ``q`` text; one repeatable parameter per facet
(``stage``, ``pillar``, ``type``, ``product``, ...) with term slugs; ``sort`` (relevance,
newest, effective); ``page``; ``per_page``; ``deal_<facet>`` for each deal-mode facet
(``deal_stage``, ``deal_competitor``, ...). A bad value raises ``InvalidSearch`` naming the
parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils import timezone

from search.query import (
    DEAL_FIELDS,
    FACETS,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_TEXT_CHARS,
    Audience,
    DealContext,
    SearchQuery,
)
from search.schema import SORTS

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")
MAX_VALUES = 20


class InvalidSearch(ValueError):
    """A parameter the search cannot use; the message names it and says what is allowed.
    ``way_out``: (label, URL) of the nearest search that can be answered, when there is one
    (the last page, for a page past it)."""

    def __init__(self, message: str, way_out: tuple[str, str] | None = None):
        super().__init__(message)
        self.way_out = way_out


def text_checked(text: str) -> str:
    """``text`` when a search or a suggestion takes it: at most ``MAX_TEXT_CHARS`` (the box
    takes no more; only an edited URL or an API call sends more)."""
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidSearch(
            f"The search text (q) is {len(text)} characters long; a search takes at most "
            f"{MAX_TEXT_CHARS}. Shorten it and search again."
        )
    return text


def _values(params: Mapping, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        raw = params.getlist(name)
    else:
        raw = params.get(name)
        raw = [] if raw is None else raw if isinstance(raw, list | tuple) else [raw]
    values = [str(value).strip() for value in raw]
    return [value for value in values if value]


def _slug(name: str, value: str) -> str:
    if not _SLUG.match(value):
        raise InvalidSearch(f"{name}: {value[:40]!r} is not a valid value (letters, digits, -)")
    return value


def _integer(params: Mapping, name: str, default: int, low: int, high: int) -> int:
    values = _values(params, name)
    if not values:
        return default
    try:
        number = int(values[0])
    except ValueError:
        raise InvalidSearch(f"{name} must be a whole number, got {values[0][:20]!r}") from None
    if not low <= number <= high:
        raise InvalidSearch(f"{name} must be between {low} and {high}, got {number}")
    return number


def query_from_params(
    params: Mapping, *, audience: Audience, per_page: int = 20, now=None
) -> SearchQuery:
    filters = {}
    for name in FACETS:
        values = [_slug(name, value) for value in _values(params, name)]
        if len(values) > MAX_VALUES:
            raise InvalidSearch(f"{name}: at most {MAX_VALUES} values")
        if values:
            filters[name] = tuple(dict.fromkeys(values))
    sort = (_values(params, "sort") or ["relevance"])[0]
    if sort not in SORTS:
        raise InvalidSearch(f"sort must be one of {', '.join(SORTS)}, got {sort[:20]!r}")
    deal = {}
    for name in DEAL_FIELDS:
        values = _values(params, f"deal_{name}")
        if values:
            deal[name] = _slug(f"deal_{name}", values[0])
    text = text_checked((_values(params, "q") or [""])[0])
    return SearchQuery(
        audience=audience,
        now=now or timezone.now(),
        text=text,
        filters=filters,
        sort=sort,
        page=_integer(params, "page", 1, 1, MAX_PAGE),
        per_page=_integer(params, "per_page", per_page, 1, MAX_PER_PAGE),
        deal=DealContext(**deal),
    )


def is_search(query: SearchQuery) -> bool:
    """Whether the rep asked for something (text, a filter or a deal), as opposed to
    opening the empty search page."""
    return bool(query.text.strip() or query.active_filters() or query.deal)
