"""The taxonomy facets, declared once: what assets are classified by, and how each facet
behaves everywhere it appears.

Everything else derives from ``FACETS``: the search document and its index mapping on every
engine (``search.schema``), facet counts and their labels, the search page's filters and deal
mode, the API's parameters and result fields (``search.api``), the library listing's filters
(``cms.selectors.ASSET_FILTERS``, ``cms.views``), the taxonomy snippets in the admin and the
permissions content managers get on them (``cms.services.roles_ensure``).

Adding a facet is one entry here plus its term model (a ``Taxonomy`` subclass), the
relation that tags assets with it and their migration (and ``search_reindex``, since the
index gains a field). ``FACETS`` lists them in the order their fields are stored: append a
new one at the end and never reorder them (the embedded index and the documents'
fingerprints depend on it). ``display_order`` is the order people see them in.

This module imports no models (a facet names its model by label), so a settings module can
read it before Django is set up.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Facet:
    """One way assets are classified.

    ``name`` is the URL and API parameter (``?stage=decide``) and the facet's key;
    ``relation`` is the ``AssetPage`` relation that holds an asset's terms (a many-to-many or
    foreign key on the page, or the accessor of a relation declared on the term model); it is
    also the search document's field and the API's result field (``result_key`` overrides
    the latter). Terms are always referred to by slug.
    """

    name: str
    label: str
    model: str  # "app_label.ModelName" of the term model
    relation: str
    display_order: int
    ordered: bool = False  # facet values in the taxonomy's configured order, else by count
    deal_boost: float = 0.0  # deal mode: score added when an asset has the deal's term
    reason: str = ""  # deal mode: why a result is there, e.g. "{label} stage"
    card_position: int | None = None  # where its labels show on a result card, if at all
    listing_filter: bool = True  # the library listing accepts ``?<name>=<slug>``
    listing_form: bool = False  # the listing's filter form offers a select for it
    icon: str = "tag"  # the admin menu icon of its snippets
    result_key: str = ""
    plural: str = ""  # the label of several terms, "Industries"; default: label + "s"
    # Its terms' names are part of an asset's searchable text, so "battlecard acme" finds the
    # battlecards tagged Acme (``search.schema``'s ``labels``). Off for names made of everyday
    # words ("Decide", "Why Buy Now?"), which would make "buy" or "decide" match by tag.
    searchable: bool = True

    @property
    def term_model(self):
        """The term model class (needs the app registry)."""
        return apps.get_model(self.model)

    @property
    def index_field(self) -> str:
        """The search document's field holding the asset's term slugs."""
        return self.relation

    @property
    def result_field(self) -> str:
        return self.result_key or self.relation

    @property
    def in_deal_mode(self) -> bool:
        return self.deal_boost > 0

    @property
    def plural_label(self) -> str:
        return self.plural or f"{self.label}s"


FACETS: tuple[Facet, ...] = (
    Facet(
        "type",
        "Type",
        "cms.AssetType",
        "asset_type",
        display_order=3,
        card_position=1,
        listing_form=True,
        icon="doc-full",
        result_key="type",
    ),
    Facet(
        "stage",
        "Stage",
        "cms.BuyerStage",
        "stages",
        display_order=1,
        ordered=True,
        deal_boost=12.0,
        reason="{label} stage",
        card_position=2,
        icon="list-ol",
        searchable=False,
    ),
    Facet(
        "pillar",
        "Pillar",
        "cms.Pillar",
        "pillars",
        display_order=2,
        ordered=True,
        deal_boost=8.0,
        reason="{label}",
        card_position=3,
        icon="pick",
        searchable=False,
    ),
    Facet(
        "product",
        "Product",
        "cms.Product",
        "products",
        display_order=4,
        listing_form=True,
        icon="cog",
    ),
    Facet(
        "industry",
        "Industry",
        "cms.Industry",
        "industries",
        display_order=5,
        deal_boost=8.0,
        reason="{label} industry",
        listing_form=True,
        icon="site",
        plural="Industries",
    ),
    Facet(
        "persona",
        "Persona",
        "cms.Persona",
        "personas",
        display_order=6,
        deal_boost=8.0,
        reason="For {label}",
        listing_filter=False,
        icon="user",
    ),
    Facet(
        "competitor",
        "Competitor",
        "cms.Competitor",
        "competitors",
        display_order=7,
        deal_boost=10.0,
        reason="Against {label}",
        listing_filter=False,
        icon="warning",
    ),
)


def facets() -> tuple[Facet, ...]:
    """Every facet, in display order."""
    return tuple(sorted(FACETS, key=lambda item: item.display_order))


def stored_facets() -> tuple[Facet, ...]:
    """Every facet, in the order their fields are stored (``FACETS`` as declared)."""
    return FACETS


def facet(name: str) -> Facet:
    """The facet called ``name``; KeyError for any other name."""
    for candidate in FACETS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def facet_names() -> tuple[str, ...]:
    """Every facet's name, in display order."""
    return tuple(item.name for item in facets())


def deal_facets() -> tuple[Facet, ...]:
    """The facets deal mode ranks by, in display order."""
    return tuple(item for item in facets() if item.in_deal_mode)


def card_facets() -> tuple[Facet, ...]:
    """The facets whose labels a result card shows, in card order."""
    shown = [item for item in facets() if item.card_position is not None]
    return tuple(sorted(shown, key=lambda item: item.card_position))


def asset_terms(asset, item: Facet) -> list:
    """The terms ``asset`` has for facet ``item``, read through the asset's relation (so a
    previewed revision shows its own, and prefetched relations cost no query)."""
    value = getattr(asset, item.relation)
    if value is None:
        return []
    return list(value.all()) if hasattr(value, "all") else [value]
