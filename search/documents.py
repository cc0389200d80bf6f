"""Asset -> search document: the one place that decides what an engine stores about an asset.

A document carries the searchable text (title, summary, body, the file's extracted text, and
that text again page by page for PDFs and decks, to say where an asset matched; the names of
its type and other searchable taxonomy terms), the facet values (taxonomy slugs), who may see
it (``audience`` tokens: ``"all"`` or ``"team:<id>"``; no token at all means only content
managers), when it expires (the earliest of its own expiry and its sections', enforced at
query time because expiry happens by time passing), the ranking signals analytics provides,
and the display fields a result card needs (``search.schema`` declares the fields). Only live
assets get a document (``cms.selectors.assets_live``); everything else is deleted from the
index. One builder makes them all: ``live_documents`` in batches, ``document_for_asset`` for
one id through it.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime

from django.db.models import QuerySet
from django.urls import reverse
from wagtail.models import Site

from accounts.people import person_name_from
from cms.documents import document_page_unit
from cms.models import AssetPage, LibraryDocumentPage
from cms.selectors import (
    assets_allowed_team_ids,
    assets_expire_at,
    assets_live,
    restricted_levels,
    section_expiries,
)
from cms.taxonomy import stored_facets
from search.models import RankingSignal
from search.query import ALL_TOKEN, FAR_FUTURE, MARK_END, MARK_START, SIGNAL_THRESHOLD
from search.schema import DISPLAY_FIELDS, MAX_PAGES, STORED_FACET_FIELDS

_STRIP = str.maketrans("", "", MARK_START + MARK_END)


@dataclass(frozen=True)
class SearchDocument:
    """What an engine stores about one asset. ``terms`` maps each taxonomy facet's index
    field (``cms.taxonomy``, ``search.schema``) to the asset's term slugs. ``pages`` holds
    (number, text) for each page or slide of the file that has text, in page order (at most
    ``search.schema.MAX_PAGES``); the same text is also in ``file_text``. ``labels`` holds
    the names of its terms of the searchable facets ("Battlecard Acme")."""

    id: int
    title: str
    summary: str = ""
    body: str = ""
    file_text: str = ""
    labels: str = ""
    url: str = ""
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    owner: str = ""
    published_at: int = 0
    review_by: str = ""
    expire_at: int = FAR_FUTURE
    audience: tuple[str, ...] = (ALL_TOKEN,)
    effectiveness: float = 0.0
    popularity: float = 0.0
    has_thumbnail: bool = False
    language: str = "en"
    page_unit: str = "page"
    pages: tuple[tuple[int, str], ...] = ()
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self):
        for name in ("title", "summary", "body", "file_text", "labels"):
            object.__setattr__(self, name, (getattr(self, name) or "").translate(_STRIP))
        pages = ((int(number), (text or "").translate(_STRIP)) for number, text in self.pages)
        pages = tuple((number, text) for number, text in pages if text.strip())
        object.__setattr__(self, "pages", pages[:MAX_PAGES])
        terms = {name: tuple(self.terms.get(name, ())) for name in STORED_FACET_FIELDS}
        object.__setattr__(self, "terms", terms)
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self.compute_fingerprint())

    @property
    def content(self) -> str:
        """Body and file text: the lowest-boosted text, and where snippets come from."""
        return "\n\n".join(part for part in (self.body, self.file_text) if part)

    @property
    def signals(self) -> list[str]:
        """Tokens for the ranking boosts (see query.SIGNAL_BOOSTS)."""
        tokens = []
        if self.effectiveness >= SIGNAL_THRESHOLD:
            tokens.append("effective")
        if self.popularity >= SIGNAL_THRESHOLD:
            tokens.append("popular")
        return tokens

    def value(self, name: str):
        """The value of the schema field ``name`` (``search.schema.FIELDS``); lists for
        keyword fields."""
        if name in self.terms:
            return list(self.terms[name])
        value = getattr(self, name)
        return list(value) if isinstance(value, tuple) else value

    def display(self) -> dict:
        """The fields a result card reads (``search.schema.DISPLAY_FIELDS``)."""
        return {name: self.value(name) for name in DISPLAY_FIELDS}

    def compute_fingerprint(self) -> str:
        """A digest of everything indexed; ``search_reindex --check`` compares it. (The
        terms go in their stored order, where each facet's own field used to be.)"""
        data = []
        for item in _FIELDS:
            if item.name == "terms":
                data += [self.terms[name] for name in STORED_FACET_FIELDS]
            elif item.name != "fingerprint":
                data.append(getattr(self, item.name))
        raw = json.dumps(data, default=list).encode()
        return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


_FIELDS = fields(SearchDocument)


def audience_tokens(allowed_team_ids: frozenset[int] | None) -> tuple[str, ...]:
    """None (open to everyone) -> ("all",); teams -> ("team:<id>", ...); empty -> ()."""
    if allowed_team_ids is None:
        return (ALL_TOKEN,)
    return tuple(f"team:{team_id}" for team_id in sorted(allowed_team_ids))


_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Rich text -> plain text: tags become spaces (so blocks do not run together), runs of
    whitespace one space, entities are decoded. Text that was escaped in the markup stays
    text here and is escaped again on output."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def _epoch(value) -> int:
    return int(value.timestamp()) if value else 0


# What a document is built from, read with ``values()`` so that bulk builds never pay for
# model instances. Terms come from each facet's relation (``_links``).
ROW_FIELDS = (
    "pk", "title", "summary", "body", "url_path", "first_published_at", "review_by",
    "thumbnail_image_id", "language", "owner__username", "owner__first_name",
    "owner__last_name", "document__extracted_text", "document__thumbnail",
    "transcript__extracted_text", "document_id", "document__file",
)  # fmt: skip


def build_document(
    row: dict,
    *,
    allowed_team_ids: frozenset[int] | None,
    expire_at: datetime | None,
    url: str,
    terms: Mapping[str, tuple[str, ...]],
    labels: str = "",
    signals: dict | None = None,
    pages: tuple[tuple[int, str], ...] = (),
) -> SearchDocument:
    """The document for a live asset's ``row`` (``ROW_FIELDS``); the caller decides
    liveness, visibility and expiry and passes the URL, the term slugs by index field, the
    names of its searchable terms and the pages of its file."""
    signals = signals or {}
    return SearchDocument(
        id=row["pk"],
        title=row["title"],
        summary=row["summary"],
        body=html_to_text(row["body"] or ""),
        file_text="\n\n".join(
            text
            for text in (row["document__extracted_text"], row["transcript__extracted_text"])
            if text
        ),
        url=url or "",
        terms=terms,
        labels=labels,
        owner=person_name_from(
            first_name=row["owner__first_name"],
            last_name=row["owner__last_name"],
            username=row["owner__username"],
        ),
        published_at=_epoch(row["first_published_at"]),
        review_by=row["review_by"].isoformat() if row["review_by"] else "",
        expire_at=_epoch(expire_at) or FAR_FUTURE,
        audience=audience_tokens(allowed_team_ids),
        effectiveness=float(signals.get("effectiveness") or 0.0),
        popularity=float(signals.get("popularity") or 0.0),
        has_thumbnail=bool(row["thumbnail_image_id"] or row["document__thumbnail"]),
        language=row["language"],
        page_unit=document_page_unit(filename=row["document__file"] or ""),
        pages=pages,
    )


def asset_ranking_signals(asset_ids: list[int]) -> dict[int, dict]:
    """The stored ranking signals (``RankingSignal``) as document values, keyed by asset id;
    assets without a row are neutral. ``effectiveness`` is 0 unless the asset was judged to
    help (``effective`` > 0); then ``SIGNAL_THRESHOLD + (1 - SIGNAL_THRESHOLD) * lift``
    (capped at 1), so every proven asset carries the "effective" boost and the "most
    effective" sort orders proven assets by their lift."""
    rows = RankingSignal.objects.filter(asset_id__in=list(asset_ids))
    return {
        row.asset_id: {
            "effectiveness": (
                SIGNAL_THRESHOLD + (1 - SIGNAL_THRESHOLD) * min(1.0, row.effective)
                if row.effective > 0
                else 0.0
            ),
            "popularity": row.popularity,
        }
        for row in rows
    }


def document_for_asset(asset_id: int) -> SearchDocument | None:
    """The document for one asset, or None when it must not be in the index: the bulk
    builder (``live_documents``) asked for one id."""
    for batch in live_documents(AssetPage.objects.filter(pk=asset_id)):
        for document in batch:
            return document
    return None


def _links(relation_name: str, ids: list[int], target: str) -> dict[int, list]:
    """asset id -> the ``target`` values of an asset relation (a many-to-many or foreign key
    on the page, or the accessor of a relation declared on the other model), for the
    (sorted) batch ``ids``. Many-to-many links are read from the link table over the id
    range of the batch, in one query: a range is far cheaper to build and run than a long IN
    list, and the page tables need no join."""
    relation = AssetPage._meta.get_field(relation_name)
    if not relation.many_to_many:
        rows = (
            AssetPage.objects.filter(pk__gte=ids[0], pk__lte=ids[-1])
            .exclude(**{f"{relation_name}__isnull": True})
            .values_list("pk", f"{relation_name}__{target}")
        )
    else:
        if relation.auto_created:  # the accessor of a many-to-many declared on the term model
            forward = relation.remote_field
            source, other = forward.m2m_reverse_field_name(), forward.m2m_field_name()
        else:
            forward = relation
            source, other = forward.m2m_field_name(), forward.m2m_reverse_field_name()
        through = forward.remote_field.through
        rows = through.objects.filter(
            **{f"{source}_id__gte": ids[0], f"{source}_id__lte": ids[-1]}
        ).values_list(f"{source}_id", f"{other}__{target}")
    found: dict[int, list] = {}
    for asset_id, value in rows:
        found.setdefault(asset_id, []).append(value)
    return found


def _term_names() -> dict[str, dict[str, str]]:
    """Index field -> {slug: name} of every term of the searchable facets
    (``cms.taxonomy.Facet.searchable``); a taxonomy is a few hundred terms at most."""
    return {
        item.index_field: dict(item.term_model.objects.values_list("slug", "name"))
        for item in stored_facets()
        if item.searchable
    }


def _term_labels(terms: Mapping[str, tuple[str, ...]], names: dict[str, dict[str, str]]) -> str:
    """The names of an asset's searchable terms, one per line, in the facets' stored order."""
    return "\n".join(
        names[field][slug]
        for field in names
        for slug in terms.get(field, ())
        if slug in names[field]
    )


def _page_texts(document_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """document id -> (number, text) of its pages that have text, in page order
    (``LibraryDocumentPage``), in one query."""
    rows = (
        LibraryDocumentPage.objects.filter(document_id__in=document_ids)
        .exclude(text="")
        .order_by("document_id", "number")
        .values_list("document_id", "number", "text")
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for document_id, number, text in rows:
        found.setdefault(document_id, []).append((number, text))
    return found


class _PageUrls:
    """Page URLs the way ``Page.get_url()`` makes them, with the site lookups and the
    ``wagtail_serve`` reverse done once instead of per page (tests hold them equal)."""

    def __init__(self):
        self.roots = Site.get_site_root_paths()
        self.single_site = len({root.site_id for root in self.roots}) <= 1
        self.prefix = reverse("wagtail_serve", args=("",))

    def __call__(self, url_path: str) -> str:
        for root in self.roots:
            if url_path.startswith(root.root_path):
                path = self.prefix + url_path[len(root.root_path) :]
                return path if self.single_site else root.root_url + path
        return ""


def live_documents(
    assets: QuerySet[AssetPage] | None = None, *, batch_size: int = 500
) -> Iterator[list[SearchDocument]]:
    """Documents for every live asset (or the live ones of ``assets``), in batches, with a
    fixed number of queries per batch. Visibility is ``cms.selectors.assets_allowed_team_ids``,
    expiry ``cms.selectors.assets_expire_at``.

    An alias (Wagtail's "Create alias": the same asset placed in another section) has no
    document of its own (``assets_live`` leaves it out): a rep who may see an alias may see
    its original (an alias answers to its own place and its original's, see
    ``cms.selectors``), so the original's document finds it, once, and counts it once in
    every facet."""
    queryset = assets_live() if assets is None else assets & assets_live()
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    levels, expiries, urls = restricted_levels(), section_expiries(), _PageUrls()
    names = _term_names()
    for chunk in _chunks(ids, batch_size):
        wanted = set(chunk)
        rows = AssetPage.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1]).order_by("pk")
        links = {name: _links(name, chunk, "slug") for name in STORED_FACET_FIELDS}
        teams = assets_allowed_team_ids(chunk, sections=levels)
        expire_at = assets_expire_at(chunk, sections=expiries)
        signals = asset_ranking_signals(chunk)
        rows = [row for row in rows.values(*ROW_FIELDS) if row["pk"] in wanted]
        pages = _page_texts([row["document_id"] for row in rows if row["document_id"]])
        documents = []
        for row in rows:
            terms = {name: tuple(sorted(links[name].get(row["pk"], ()))) for name in links}
            documents.append(
                build_document(
                    row,
                    allowed_team_ids=teams[row["pk"]],
                    expire_at=expire_at[row["pk"]],
                    url=urls(row["url_path"]),
                    terms=terms,
                    labels=_term_labels(terms, names),
                    signals=signals.get(row["pk"]),
                    pages=tuple(pages.get(row["document_id"], ())),
                )
            )
        yield documents


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
