"""The demo library (``manage.py seed_demo``): the loader that creates the assets of Tidewater
Data, a fictional data-reliability company. The assets are data (``data/assets.json``), the
company's facts too (``demo.catalogue``); the files are drawn by ``demo.files``.

Contracts of ``demo_seed``:
- It creates the taxonomy (products, industries, personas, competitors, teams; what the demo
  CRM calls some terms becomes their CRM names, so every demo deal's industry names a term),
  one demo user per role plus two more marketers who own content, the library sections (one
  restricted to the EMEA team) under the library home, which becomes the default site's root
  page, the demo's search synonym sets, and the ``asset_specs()`` assets, each published
  through a Wagtail revision by its owner. Assets with a file get a generated PDF, PPTX or
  DOCX (``demo.files``) whose text contains a code word found nowhere else (``code_word``);
  videos get an external link.
- Every stage x pillar cell holds assets except ``EMPTY_CELLS``, left empty on purpose so the
  coverage matrix has gaps to show. Some assets are past their review date, one has expired,
  a few are restricted to a team.
- It is idempotent: pages are found by slug under their parent, documents by title, users by
  username and taxonomy terms by slug or name. A second run creates and changes nothing
  (existing users keep whatever password they have now; CRM names and synonym sets someone
  already set are kept).
- Each asset is created in its own transaction, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import datetime
import io
import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from wagtail.documents import get_document_model
from wagtail.models import Page, Site
from wagtail.utils.file import hash_filelike

from accounts.models import Team
from accounts.roles import ADMIN
from cms.models import (
    AssetPage,
    AssetType,
    BuyerStage,
    Competitor,
    Industry,
    LibraryPage,
    Persona,
    Pillar,
    Product,
)
from cms.services import library_root_ensure, roles_ensure
from demo import files as demo_files
from demo.catalogue import (
    COMPANY,
    CONTENT_OWNERS,
    CRM_NAMES,
    CUSTOMERS,
    DEMO_USERS,
    EMAIL_DOMAIN,
    INDUSTRIES,
    LIBRARY_INTRO,
    PERSONAS,
    PLATFORM,
    PRODUCTS,
    RIVALS,
    SEARCH_SYNONYMS,
    SECTIONS,
    TEAMS,
    VIDEO_BASE,
    DemoUser,
    SectionSpec,
)
from demo.files import Brief
from search.models import SearchSynonyms

EMPTY_CELLS = frozenset({("discover", "why-buy-you"), ("onboard", "why-buy-now")})
FILE_KINDS = {
    "deck": "pptx",
    "case-study": "pdf",
    "battlecard": "pdf",
    "one-pager": "pdf",
    "datasheet": "pdf",
    "whitepaper": "pdf",
    "roi-calculator": "docx",
    "demo-script": "docx",
    "email-template": "docx",
}  # video: an external link, no file


@dataclass(frozen=True)
class AssetSpec:
    """One asset of the demo library. Taxonomy fields are slugs or keys of the tables above."""

    title: str
    section: str
    asset_type: str
    stages: tuple[str, ...]
    pillars: tuple[str, ...]
    summary: str
    buyer_description: str = ""  # what a buyer reads on a share link's page
    product: str | None = None
    rival: str | None = None
    customer: str | None = None
    industry: str | None = None
    persona: str | None = None
    teams: tuple[str, ...] = ()
    stale: bool = False  # past its review date
    expired: bool = False

    @property
    def slug(self) -> str:
        return slugify(self.title)[:80]

    @property
    def industry_key(self) -> str | None:
        return CUSTOMERS[self.customer].industry if self.customer else self.industry


ASSETS_FILE = Path(__file__).resolve().parent / "data" / "assets.json"


def asset_specs() -> list[AssetSpec]:
    """Every asset of the demo library, in creation order (``data/assets.json``: one object
    per asset with ``title``, ``section``, ``type``, ``stages``, ``pillars``, ``summary`` and
    optionally ``buyer_description``, ``product``, ``rival``, ``customer``, ``industry``,
    ``persona`` (catalogue keys), ``teams``, ``stale``, ``expired``)."""
    rows = json.loads(ASSETS_FILE.read_text(encoding="utf-8"))
    return [
        AssetSpec(
            title=row["title"],
            section=row["section"],
            asset_type=row["type"],
            stages=tuple(row["stages"]),
            pillars=tuple(row["pillars"]),
            summary=row["summary"],
            buyer_description=row.get("buyer_description", ""),
            product=row.get("product"),
            rival=row.get("rival"),
            customer=row.get("customer"),
            industry=row.get("industry"),
            persona=row.get("persona"),
            teams=tuple(row.get("teams", ())),
            stale=row.get("stale", False),
            expired=row.get("expired", False),
        )
        for row in rows
    ]


ADJECTIVES = (
    "amber", "cobalt", "saffron", "juniper", "vermilion", "indigo",
    "russet", "celadon", "ochre", "mauve", "cerulean", "umber",
)  # fmt: skip
ANIMALS = (
    "heron", "otter", "lynx", "marten", "ibis", "puffin",
    "wombat", "narwhal", "gecko", "tapir", "okapi", "pangolin",
)  # fmt: skip


def code_word(number: int) -> str:
    """The two-word code word inside the file of asset ``number`` (1-based), unique up to 144
    assets: the adjective cycles with the number, the animal shifts with each round."""
    index = number - 1
    adjective = index % len(ADJECTIVES)
    animal = (index // len(ADJECTIVES) + 5 * adjective) % len(ANIMALS)
    return f"{ADJECTIVES[adjective]} {ANIMALS[animal]}"


def brief_for(spec: AssetSpec, *, number: int, owner_name: str) -> Brief:
    """What the file of ``spec`` talks about, resolved from the catalogue."""
    customer = CUSTOMERS.get(spec.customer)
    return Brief(
        title=spec.title,
        summary=spec.summary,
        asset_type=spec.asset_type,
        code_word=code_word(number),
        company=COMPANY,
        owner=owner_name,
        product=PRODUCTS.get(spec.product, PLATFORM),
        rival=RIVALS.get(spec.rival),
        customer=customer.facts if customer else None,
        industry=INDUSTRIES.get(spec.industry_key),
        persona=PERSONAS.get(spec.persona),
    )


# --- Seeding ---------------------------------------------------------------------------------

Progress = Callable[[str], None]
PUBLISHER = "lead"
SECTION_OWNERS = {spec.slug: spec.owner for spec in SECTIONS}


@dataclass
class SeedResult:
    """What a run did. ``created`` counts new rows by kind; empty when nothing changed."""

    created: Counter = field(default_factory=Counter)
    assets: int = 0

    @property
    def changed(self) -> bool:
        return any(self.created.values())


@dataclass
class _Terms:
    """Taxonomy rows by slug (stages, pillars, asset types, teams) or catalogue key."""

    stages: dict
    pillars: dict
    asset_types: dict
    products: dict
    competitors: dict
    industries: dict
    personas: dict
    teams: dict


@dataclass
class _Seed:
    """What every step of a run needs: the taxonomy, the users and the tally of new rows.

    Marketers own and write content; the enablement lead publishes it, as the "Marketing
    review" workflow would after approval."""

    terms: _Terms
    users: dict
    created: Counter

    @property
    def publisher(self):
        return self.users[PUBLISHER]

    def owner_of(self, section_slug: str):
        return self.users[SECTION_OWNERS[section_slug]]


def demo_seed(*, progress: Progress | None = None, workers: int = 2) -> SeedResult:
    """Create whatever part of the demo library is missing; see the module docstring.

    ``progress`` receives one line per asset created, before the work starts. ``workers``
    threads create the documents ahead of the pages (see ``_Documents``)."""
    created = Counter()
    groups = roles_ensure()
    terms = _terms_ensure(created)
    users = {
        spec.username: _user_ensure(spec, groups, terms, created)
        for spec in DEMO_USERS + CONTENT_OWNERS
    }
    seed = _Seed(terms=terms, users=users, created=created)
    _synonyms_ensure(created)
    library = _library_ensure(seed)
    sections = {spec.slug: _section_ensure(spec, library, seed) for spec in SECTIONS}
    specs = asset_specs()
    missing = [
        (number, spec)
        for number, spec in enumerate(specs, 1)
        if not AssetPage.objects.child_of(sections[spec.section]).filter(slug=spec.slug).exists()
    ]
    with _Documents(seed, workers=workers, wanted=missing) as documents:
        for number, spec in missing:
            label = terms.asset_types[spec.asset_type].name.lower()
            if progress:
                progress(f"[{number}/{len(specs)}] Creating {label}: {spec.title}")
            document = documents.get(spec)
            with transaction.atomic():
                _asset_create(spec, number, sections[spec.section], seed, document)
            created["assets"] += 1
    return SeedResult(created=created, assets=len(specs))


class _Documents:
    """The assets' documents, created ahead of their pages by worker threads when possible.

    Saving a document extracts its text in a child process (with the immediate task
    backend), which costs far more than building the page; worker threads keep both cores
    busy while the main thread builds pages. The main thread takes a document before it opens
    the page's transaction, so it never waits for a worker while holding a write lock.
    Threads are not used inside a transaction (tests; their work would be invisible to other
    connections) or on an in-memory SQLite database (each thread would need the same one).
    """

    def __init__(self, seed: _Seed, *, workers: int, wanted: list[tuple[int, AssetSpec]]):
        self.seed = seed
        self.pool = None
        self.futures = {}
        with_file = [(number, spec) for number, spec in wanted if spec.asset_type in FILE_KINDS]
        if with_file and _threads_allowed(workers):
            self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed-demo")
            for number, spec in with_file:
                self.futures[spec.slug] = self.pool.submit(self._in_thread, spec, number)
        self.numbers = {spec.slug: number for number, spec in with_file}

    def __enter__(self) -> _Documents:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def get(self, spec: AssetSpec):
        """The document of ``spec`` (None for links), waiting for its worker if need be."""
        if spec.asset_type not in FILE_KINDS:
            return None
        future = self.futures.pop(spec.slug, None)
        document, new = future.result() if future else self._create(spec, self.numbers[spec.slug])
        self.seed.created["documents"] += int(new)
        return document

    def _create(self, spec: AssetSpec, number: int):
        owner = self.seed.owner_of(spec.section)
        brief = brief_for(spec, number=number, owner_name=owner.get_full_name())
        return _document_ensure(brief, spec, owner)

    def _in_thread(self, spec: AssetSpec, number: int):
        try:
            return self._create(spec, number)
        finally:
            connections.close_all()  # this thread's connections only


def _threads_allowed(workers: int) -> bool:
    connection = transaction.get_connection()
    if workers < 2 or connection.in_atomic_block:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def _term_ensure(model, name: str, created: Counter):
    """The term named ``name`` (matched by slug or name), created when missing."""
    slug = slugify(name)[:100]
    term = model.objects.filter(Q(slug=slug) | Q(name=name)).first()
    if term is None:
        term = model(name=name, slug=slug)
        term.full_clean()
        term.save()
        created["taxonomy terms"] += 1
    return term


def _terms_ensure(created: Counter) -> _Terms:
    def ensure(model, names: dict) -> dict:
        return {key: _term_ensure(model, name, created) for key, name in names.items()}

    rivals = {key: rival.name[0].upper() + rival.name[1:] for key, rival in RIVALS.items()}
    terms = _Terms(
        stages={stage.slug: stage for stage in BuyerStage.objects.all()},
        pillars={pillar.slug: pillar for pillar in Pillar.objects.all()},
        asset_types={kind.slug: kind for kind in AssetType.objects.all()},
        products=ensure(Product, {key: product.name for key, product in PRODUCTS.items()}),
        competitors=ensure(Competitor, rivals),
        industries=ensure(Industry, {key: facts.name for key, facts in INDUSTRIES.items()}),
        personas=ensure(Persona, {key: facts.name for key, facts in PERSONAS.items()}),
        teams=ensure(Team, TEAMS),
    )
    _crm_names_ensure(terms, created)
    return terms


def _crm_names_ensure(terms: _Terms, created: Counter) -> None:
    """Give the terms of ``CRM_NAMES`` their CRM names, unless they have some already (a
    marketer's own list is kept)."""
    for kind, names_by_key in CRM_NAMES.items():
        for key, names in names_by_key.items():
            term = getattr(terms, kind)[key]
            if term.crm_names.strip():
                continue
            term.crm_names = "\n".join(names)
            term.full_clean()
            term.save()
            created["terms given CRM names"] += 1


def _synonyms_ensure(created: Counter) -> None:
    """The demo's search synonym sets (``SEARCH_SYNONYMS``), unless some are set already (a
    marketer's own are kept)."""
    setting = SearchSynonyms.load()
    if setting.synonyms.strip():
        return
    setting.synonyms = SEARCH_SYNONYMS
    setting.full_clean()
    setting.save()
    created["search synonym sets"] += len(SEARCH_SYNONYMS.strip().splitlines())


def _user_ensure(spec: DemoUser, groups: dict, terms: _Terms, created: Counter):
    """The user ``spec.username`` in its role group and teams; a new one gets the demo
    password (or an unusable one when the spec has none)."""
    User = get_user_model()
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        first_name, last_name = spec.name.split(" ", 1)
        is_admin = spec.role == ADMIN
        user = User(
            username=spec.username,
            email=f"{spec.username}@{EMAIL_DOMAIN}",
            first_name=first_name,
            last_name=last_name,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
        if spec.password:
            user.set_password(spec.password)
        else:
            user.set_unusable_password()
        user.full_clean()
        user.save()
        created["users"] += 1
    user.groups.add(groups[spec.role])
    for team in spec.teams:
        terms.teams[team].members.add(user)
    return user


def _library_ensure(seed: _Seed) -> LibraryPage:
    """The library home as the default site's root, with an intro, and without Wagtail's
    "Welcome" starter page."""
    library = library_root_ensure()
    if _welcome_page_remove():
        seed.created["welcome page removed"] += 1
    if not library.intro:
        library.intro = LIBRARY_INTRO
        library.save_revision(user=seed.publisher).publish(user=seed.publisher)
        seed.created["library intro"] += 1
    if library.owner_id is None:  # material from the field arrives here: marketing owns it
        LibraryPage.objects.filter(pk=library.pk).update(owner=seed.users["marketer"])
        library.owner = seed.users["marketer"]
    return library


def _welcome_page_remove() -> bool:
    """Delete Wagtail's starter page when it is untouched and no site uses it as its root
    (deleting a site's root page would delete the site)."""
    welcome = (
        Page.objects.filter(
            depth=2,
            numchild=0,
            content_type=ContentType.objects.get_for_model(Page),
            title__startswith="Welcome to your new Wagtail site",
        )
        .exclude(pk__in=Site.objects.values("root_page"))
        .first()
    )
    if welcome is None:
        return False
    welcome.delete()
    return True


def _section_ensure(spec: SectionSpec, library: LibraryPage, seed: _Seed) -> LibraryPage:
    section = LibraryPage.objects.child_of(library).filter(slug=spec.slug).first()
    if section is not None:
        return section
    owner = seed.users[spec.owner]
    section = LibraryPage(title=spec.title, slug=spec.slug, intro=spec.intro, owner=owner)
    section.restricted_teams.set([seed.terms.teams[slug] for slug in spec.teams])
    library.add_child(instance=section)
    section.save_revision(user=owner).publish(user=seed.publisher)
    seed.created["sections"] += 1
    return section


def _asset_create(spec: AssetSpec, number: int, section: LibraryPage, seed: _Seed, document):
    """Create one asset as its section's owner, publish that revision as the enablement lead,
    and back-date its publication to somewhere in the last 16 months."""
    owner, terms, now = seed.owner_of(spec.section), seed.terms, timezone.now()
    asset = AssetPage(
        title=spec.title,
        slug=spec.slug,
        summary=spec.summary,
        buyer_description=spec.buyer_description,
        body=_body(spec, terms),
        document=document,
        external_url="" if document else f"{VIDEO_BASE}{spec.slug}",
        asset_type=terms.asset_types[spec.asset_type],
        owner=owner,
        review_by=_review_by(spec, number, timezone.localdate(now)),
        expire_at=now - datetime.timedelta(days=12) if spec.expired else None,
    )
    _place(asset, spec, terms)
    section.add_child(instance=asset)
    asset.save_revision(user=owner).publish(user=seed.publisher)
    published = now - datetime.timedelta(days=60 + (number * 53) % 420)
    AssetPage.objects.filter(pk=asset.pk).update(
        first_published_at=published, last_published_at=published
    )
    return asset


def _place(asset: AssetPage, spec: AssetSpec, terms: _Terms) -> None:
    def pick(table: dict, *keys) -> list:
        return [table[key] for key in keys if key]

    asset.stages.set(pick(terms.stages, *spec.stages))
    asset.pillars.set(pick(terms.pillars, *spec.pillars))
    asset.products.set(pick(terms.products, spec.product))
    asset.competitors.set(pick(terms.competitors, spec.rival))
    asset.industries.set(pick(terms.industries, spec.industry_key))
    asset.personas.set(pick(terms.personas, spec.persona))
    asset.restricted_teams.set(pick(terms.teams, *spec.teams))


def _document_ensure(brief: Brief, spec: AssetSpec, owner) -> tuple[object, bool]:
    """The generated file of ``spec`` as a library document, and whether it is new. One with
    the asset's title (e.g. left by an interrupted run) is reused. Saving a new one schedules
    its text extraction."""
    Document = get_document_model()
    existing = Document.objects.filter(title=spec.title).first()
    if existing is not None:
        return existing, False
    kind = FILE_KINDS[spec.asset_type]
    data = demo_files.render(demo_files.outline_for(brief), kind)
    document = Document(
        title=spec.title,
        uploaded_by_user=owner,
        file_size=len(data),
        file_hash=hash_filelike(io.BytesIO(data)),
    )
    document.file.save(f"{spec.slug}.{kind}", ContentFile(data), save=False)
    document.full_clean()
    document.save()
    return document, True


def _body(spec: AssetSpec, terms: _Terms) -> str:
    stages = " and ".join(terms.stages[slug].name for slug in spec.stages)
    questions = " ".join(terms.pillars[slug].question for slug in spec.pillars)
    return format_html(
        "<p>{}</p><p>Use it in the {} stage to answer: {}</p>", spec.summary, stages, questions
    )


def _review_by(spec: AssetSpec, number: int, today: datetime.date) -> datetime.date:
    if spec.stale:
        return today - datetime.timedelta(days=7 + number % 50)
    return today + datetime.timedelta(days=20 + (number * 37) % 180)


def search_hint() -> tuple[str, str]:
    """A code word a rep can search for, and the title of the asset whose file holds it."""
    for number, spec in enumerate(asset_specs(), 1):
        if FILE_KINDS.get(spec.asset_type) == "pdf" and spec.customer and not spec.teams:
            return code_word(number), spec.title
    raise LookupError("The demo catalogue has no unrestricted customer PDF.")
