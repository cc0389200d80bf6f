"""The admin's page search asks every backend for "pages you may explore" as a list of ids:
``pk IN (SELECT pk FROM wagtailcore_page WHERE path ...)`` (Wagtail's ``SearchView``). At 10k
pages that list is the costly part of each of the view's four searches (results, count, the
page-type counts, the count again): SQLite builds it in full every time (4 ms of each query's
5-7 ms, while the text matched a few hundred pages); Wagtail's Elasticsearch and OpenSearch
backends read the 10k ids from the database and send them to the server as a ``terms`` filter.

The list is of the searched table's own rows, so it says no more than its conditions on that
table: ``inlined`` moves them into the search's own filter (on the server: a ``prefix`` on the
page path, a ``range`` on its depth), which gives the same pages. The backends' query compilers
take it through ``InlinedFilters``.
"""

from __future__ import annotations

from django.db.models.expressions import Col
from django.db.models.lookups import In
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND


def inlined(queryset):
    """``queryset`` with each top-level ``pk IN (SELECT pk FROM the same table WHERE c)``
    filter replaced by ``c`` itself; other filters untouched."""
    model, query = queryset.model, queryset.query
    where = query.where
    if where.connector != AND or where.negated:
        return queryset
    lists = [child for child in where.children if _lists_own_pks(child, model)]
    if not lists:
        return queryset
    queryset = queryset._chain()
    query = queryset.query
    table = query.get_initial_alias()
    query.where.children = [child for child in query.where.children if child not in lists]
    for child in lists:
        (alias,) = child.rhs.alias_map
        query.where.add(child.rhs.where.relabeled_clone({alias: table}), AND)
    return queryset


def _lists_own_pks(child, model) -> bool:
    """Whether a where-clause child is ``pk IN (SELECT pk FROM the model's table WHERE ...)``,
    with no join, slice, distinct or union that would make it mean more than its conditions."""
    if not isinstance(child, In) or not isinstance(child.rhs, Query):
        return False
    subquery, pk = child.rhs, model._meta.pk
    return (
        isinstance(child.lhs, Col)
        and child.lhs.target == pk
        and subquery.model is model
        and len(subquery.alias_map) == 1
        and len(subquery.select) == 1
        and getattr(subquery.select[0], "target", None) == pk
        and not subquery.is_sliced
        and not subquery.combinator
        and not subquery.distinct
        and not subquery.annotations
    )


class InlinedFilters:
    """A search query compiler mixin: the search's queryset with its id lists inlined."""

    def __init__(self, queryset, *args, **kwargs):
        super().__init__(inlined(queryset), *args, **kwargs)
