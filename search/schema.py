"""The search document's fields, declared once (as django-modelsearch's ``index.py`` declares
SearchField and FilterField and its Elasticsearch backend derives the mapping from them).

Every engine derives its index from ``FIELDS``: the embedded engine's tantivy schema, the
server engines' mapping, what each stores, what text is searched with which weight, which
fields are facets and which numbers results can be sorted by. ``search.documents`` fills the
fields; ``SearchHit.fields`` carries the ``display`` ones back to result cards.

Page text (``PAGES``) is the one field of its kind: the text of each page of a PDF and each
slide of a deck (notes included), searched only to say where an asset matched (up to
``PAGE_MATCHES`` pages per hit, each with a highlight), never to decide whether it matched
(the same text is in ``content``) nor for counts, facets or permissions, which stay per asset.
Each engine keeps pages apart from the assets' own statistics (nested documents on the
servers, a second index beside the assets' on the embedded engine).

A taxonomy facet (``cms.taxonomy``) becomes a keyword field of the same name as its asset
relation, displayed on cards, so a new facet needs nothing here. Fields are stored in the
order declared (the embedded index depends on it): add new ones at the end of their kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from cms.taxonomy import Facet, facets, stored_facets

TEXT, KEYWORD, INTEGER, FLOAT, STORED = "text", "keyword", "integer", "float", "stored"
FACET_SIZE = 200  # facet values counted per facet
SNIPPET_CHARS = 220  # length of the highlighted fragment on a result card
PAGES = "pages"  # the page texts' field: (number, text) pairs, see the module docstring
PAGE_MATCHES = 3  # matching pages listed per hit
# Pages indexed per asset at most: Elasticsearch's and OpenSearch's default limit of nested
# documents per document (``index.mapping.nested_objects.limit``).
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Field:
    """One field of the search document.

    - ``text``: analysed for relevance (stemmed English) with ``boost``; ``typos`` keeps an
      unstemmed copy for typo-tolerant matching; ``suggest`` makes it what
      search-as-you-type completes.
    - ``keyword``: exact values for filters, facets and boosts; ``facet`` names the taxonomy
      facet it carries.
    - ``integer`` / ``float``: numbers for filters and sorting; ``sort`` is the ``sort``
      parameter value that orders results by this field, highest first.
    - ``stored``: only carried back to result cards.

    ``display``: part of the stored document a result card reads (``SearchHit.fields``).
    """

    name: str
    kind: str
    boost: float = 0.0
    typos: bool = False
    suggest: bool = False
    facet: str = ""
    sort: str = ""
    display: bool = False


def _facet_field(item: Facet) -> Field:
    return Field(item.index_field, KEYWORD, facet=item.name, display=True)


FIELDS: tuple[Field, ...] = (
    # Relevance: title over summary over term names over body and file text.
    Field("title", TEXT, boost=4.0, typos=True, suggest=True, display=True),
    Field("summary", TEXT, boost=2.0, typos=True, display=True),
    Field("content", TEXT, boost=1.0, typos=True),
    # The names of its type, product, industry, persona and competitor terms (the facets
    # ``cms.taxonomy`` marks ``searchable``): what a rep calls it ("deck", "battlecard") finds
    # it though its text never says so; below the title, and never shown as a snippet.
    Field("labels", TEXT, boost=1.5, typos=True),
    *(_facet_field(item) for item in stored_facets()),
    Field("audience", KEYWORD),  # who may see it: "all" or "team:<id>"
    Field("signals", KEYWORD),  # ranking signals: "effective", "popular"
    Field("fingerprint", KEYWORD),  # what was indexed, for ``search_reindex --check``
    Field("expire_at", INTEGER),  # epoch seconds; enforced at query time
    Field("published_at", INTEGER, sort="newest", display=True),
    Field("effectiveness", FLOAT, sort="effective", display=True),
    Field("url", STORED, display=True),
    Field("owner", STORED, display=True),
    Field("review_by", STORED, display=True),
    Field("popularity", STORED, display=True),
    Field("has_thumbnail", STORED, display=True),
    Field("language", STORED, display=True),
    Field("page_unit", STORED, display=True),  # "slide" for a deck's pages, else "page"
)

# Highlight sources, best first: a fragment of the body or file text, else of the summary.
SNIPPET_FIELDS = ("content", "summary")


def fields_of(kind: str) -> tuple[Field, ...]:
    return tuple(item for item in FIELDS if item.kind == kind)


TEXT_FIELDS = fields_of(TEXT)
KEYWORD_FIELDS = fields_of(KEYWORD)
NUMBER_FIELDS = fields_of(INTEGER) + fields_of(FLOAT)
FIELD_BOOSTS = {item.name: item.boost for item in TEXT_FIELDS}
TYPO_FIELDS = tuple(item.name for item in TEXT_FIELDS if item.typos)
SUGGEST_FIELD = next(item.name for item in TEXT_FIELDS if item.suggest)
DISPLAY_FIELDS = tuple(item.name for item in FIELDS if item.display)
# facet name -> the keyword field holding it, in display order.
FACET_FIELDS = {item.name: item.index_field for item in facets()}
# The facet fields in the order they are stored (``cms.taxonomy.FACETS``).
STORED_FACET_FIELDS = tuple(item.index_field for item in stored_facets())
# ``sort`` value -> the number field it orders by (highest first); "relevance" is the score.
SORT_FIELDS = {item.sort: item.name for item in FIELDS if item.sort}
SORTS = ("relevance", *SORT_FIELDS)
