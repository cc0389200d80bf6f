"""Wagtail's SQLite FTS5 search backend with its queries reshaped for SQLite's planner.

Wagtail's own SQLite backend is correct but, at 10k assets, takes seconds per admin search
(page search 2-10 s, document search 27-216 s per request on a 2-core machine), for two
reasons found with EXPLAIN QUERY PLAN:

- its "matching objects" subquery joins the FTS table to the index entries with an INNER JOIN
  that SQLite starts from the entries (their content-type index looks cheap), so the FTS5
  MATCH runs once per entry: 10k MATCHes, each reading the query terms' whole posting lists;
- the relevance score is a correlated subquery that runs the MATCH again for every candidate
  row.

This compiler asks the same question of the same index (same MATCH expression, same BM25
rank: ``bm25()`` weighted by the entry's title norm, as Wagtail does for title and body)
with the FTS table forced first (``CROSS JOIN``) and the matches materialized once per query
(``WITH ... AS MATERIALIZED``), from which both the filter and the per-row score read. Each
search is then one FTS5 pass: tens of milliseconds. Everything else (indexing, ``update_index``,
filters, facets, negation, ordering, Wagtail's signal handlers) is Wagtail's unchanged.

(``search.admin_backend`` also moves the page search's "pages you may explore" filter into the
search's own conditions first, as for every backend: ``search.admin_filters``.)
"""

from __future__ import annotations

import copy

from django.db import connections, router
from django.db.models import FloatField
from django.db.models.expressions import RawSQL
from modelsearch.backends.database.sqlite.query import MatchExpression, normalize
from modelsearch.backends.database.sqlite.sqlite import (
    IndexEntry,
    SQLiteAutocompleteQueryCompiler,
    SQLiteFTSIndexEntry,
    SQLiteSearchBackend,
    SQLiteSearchQueryCompiler,
)
from modelsearch.query import MatchAll, Not, Phrase, PlainText
from modelsearch.utils import get_descendants_content_types_pks


def _integer_pk(model) -> bool:
    """Whether the model's primary key (or the key it points to, for a page's parent link)
    is an integer: the index stores object ids as text."""
    field = model._meta.pk
    while field.is_relation:
        field = field.target_field
    return field.get_internal_type() in INTEGER_FIELDS


INTEGER_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}


class _OnePassMixin:
    """``search`` for both compilers; ``title_weighted`` says whether the rank weights BM25 by
    the title norm (title and body search) or not (autocomplete)."""

    title_weighted = True

    def build_search_query_content(self, query, config=None):
        """Wagtail's, with the double quotes a marketer types kept as text: it wraps each word
        (and a phrase) in double quotes for FTS5 without doubling those inside, so a search for
        `pricing "roi` or `=HYPERLINK("x")` was an SQLite syntax error (a server error)."""
        if isinstance(query, PlainText | Phrase) and '"' in query.query_string:
            query = copy.copy(query)
            query.query_string = query.query_string.replace('"', '""')
        return super().build_search_query_content(query, config=config)

    def _matches_sql(self, search_query) -> tuple[str, list]:
        """SELECT object_id, score for every matching entry of this model's content types."""
        fts, entries = SQLiteFTSIndexEntry._meta.db_table, IndexEntry._meta.db_table
        using = router.db_for_read(IndexEntry)
        compiler = SQLiteFTSIndexEntry.objects.none().query.get_compiler(using=using)
        match = MatchExpression(self.fields or self.FTS_TABLE_FIELDS, search_query)
        match_sql, params = match.as_sql(compiler, connections[using])
        content_types = get_descendants_content_types_pks(self.queryset.model)
        weight = "(e.title_norm + 1.0)" if self.title_weighted else "1.0"
        placeholders = ", ".join(["%s"] * len(content_types))
        sql = (
            f"SELECT e.object_id AS object_id, bm25({fts}) * {weight} AS score "  # noqa: S608 - table names are the models'; values are parameters
            f"FROM {fts} CROSS JOIN {entries} e ON e.id = {fts}.rowid "
            f"WHERE {match_sql} AND e.content_type_id IN ({placeholders})"
        )
        return sql, [*params, *content_types]

    def search(self, config, start, stop, score_field=None):
        normalized = normalize(self.query)
        if isinstance(normalized, MatchAll | Not):
            return super().search(config, start, stop, score_field)  # no MATCH to reshape
        search_query = self.build_search_query(normalized, config=config)
        matches, params = self._matches_sql(search_query)
        model = self.queryset.model
        pk_column = f'"{model._meta.db_table}"."{model._meta.pk.column}"'
        object_id = "CAST(object_id AS INTEGER)" if _integer_pk(model) else "object_id"
        # Values reach SQL only as parameters; the text is table and column names.
        matching = RawSQL(f"SELECT {object_id} FROM ({matches})", params)  # noqa: S608, S611
        queryset = self.queryset.filter(pk__in=matching)
        if self.order_by_relevance and score_field is None:
            score_field = "_score"
        if score_field is not None:
            score_sql = (
                f"WITH matches AS MATERIALIZED ({matches}) "  # noqa: S608
                f"SELECT score FROM matches WHERE object_id = CAST({pk_column} AS TEXT)"
            )
            score = RawSQL(score_sql, params, output_field=FloatField())  # noqa: S611
            queryset = queryset.annotate(**{score_field: score})
            if self.order_by_relevance:
                queryset = queryset.order_by(score_field, "-pk")
        if not self.order_by_relevance and not queryset.query.order_by:
            queryset = queryset.order_by("-pk")  # stable pages, as Wagtail does
        return queryset[start:stop]


class OnePassSearchQueryCompiler(_OnePassMixin, SQLiteSearchQueryCompiler):
    pass


class OnePassAutocompleteQueryCompiler(_OnePassMixin, SQLiteAutocompleteQueryCompiler):
    title_weighted = False


class OnePassSQLiteSearchBackend(SQLiteSearchBackend):
    query_compiler_class = OnePassSearchQueryCompiler
    autocomplete_query_compiler_class = OnePassAutocompleteQueryCompiler


SearchBackend = OnePassSQLiteSearchBackend
