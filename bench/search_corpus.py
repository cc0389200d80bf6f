"""Synthetic sales-enablement library for the search benchmark.

Text: titles, summaries and 300-800 word bodies drawn with a Zipf-like distribution from a
domain vocabulary plus common English words, so term frequencies look like real collateral.
Rows: real AssetPage rows (Wagtail pages with taxonomy links) inserted in bulk, bypassing
treebeard's one-by-one ``add_child`` (which would take hours at 100k); the tree they form is
valid (paths, depths, numchild, url paths), so Wagtail's own search backend and our document
builder read them like any other pages.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass

DOMAIN = (
    "pricing price discount renewal contract proposal quote negotiation procurement budget "
    "roi payback value savings cost total ownership tco business case executive sponsor "
    "champion stakeholder buyer committee security compliance soc2 gdpr audit risk legal "
    "integration api platform cloud migration onboarding implementation rollout adoption "
    "training enablement playbook battlecard competitor objection handling differentiation "
    "positioning messaging pitch demo discovery qualification pipeline forecast quota deal "
    "opportunity expansion upsell churn retention customer success case study reference "
    "testimonial analyst report benchmark survey webinar whitepaper datasheet roadmap "
    "release feature workflow automation analytics dashboard reporting insight revenue "
    "growth margin efficiency productivity scale enterprise midmarket startup partner "
    "channel reseller marketplace trial pilot proof concept evaluation requirement criteria "
    "timeline urgency quarter fiscal approval signature closing handoff kickoff success "
    "metrics outcome kpi satisfaction nps support sla uptime reliability performance "
    "latency data privacy encryption identity sso provisioning governance policy"
).split()
COMMON = (
    "the of and to in a is that for it as with was on be by this are or from at an have "
    "not they which one you were all we when there can been has more their if will would "
    "about into than them only other new some could time these two may then first any "
    "like our over such how even most made after also did many before must through back "
    "years where much your way well down should because each just those people how too "
    "little state good very make world still own see men work long get here between both "
    "life being under never day same another know while last might us great old year off "
    "come since against go came right used take three team help show every need clear"
).split()
COMPETITORS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne")
INDUSTRIES = ("Fintech", "Healthcare", "Retail", "Manufacturing", "Education", "Public sector")
PERSONAS = ("CFO", "CIO", "CISO", "VP Sales", "Head of Operations", "Procurement")
PRODUCTS = ("Widget Cloud", "Widget Edge", "Insights", "Connect", "Guard")
STAGES = ("discover", "evaluate", "decide", "onboard")
PILLARS = ("why-buy", "why-buy-you", "why-buy-now")
TYPES = (
    "deck",
    "case-study",
    "battlecard",
    "one-pager",
    "roi-calculator",
    "datasheet",
    "whitepaper",
    "demo-script",
    "email-template",
    "video",
)


@dataclass
class SyntheticAsset:
    number: int
    title: str
    summary: str
    body: str
    asset_type: str
    stages: tuple[str, ...]
    pillars: tuple[str, ...]
    products: tuple[str, ...]
    industries: tuple[str, ...]
    personas: tuple[str, ...]
    competitors: tuple[str, ...]
    team: int | None  # restricted to this team index, or open to all


_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ter",
    "an",
    "vel",
    "so",
    "ri",
    "den",
    "po",
    "lu",
    "gra",
    "mon",
    "ste",
    "fi",
    "bar",
    "qu",
    "ent",
    "ol",
    "ix",
)
RARE_WORDS = 6000


def _rare_words(pick: random.Random) -> list[str]:
    """Pronounceable made-up words: the long tail of a real vocabulary (names, jargon)."""
    words: set[str] = set()
    while len(words) < RARE_WORDS:
        words.add("".join(pick.choices(_SYLLABLES, k=pick.randint(2, 4))))
    return sorted(words)


class TextMaker:
    """Words by Zipf's law (weight 1/rank): common English first, then the domain words,
    then a long tail, so a domain word appears in a minority of documents as in real text."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)
        domain = list(DOMAIN)
        self.random.shuffle(domain)
        self.words = COMMON + domain + _rare_words(self.random)
        self.cumulative = list(itertools.accumulate(1.0 / (r + 2) for r in range(len(self.words))))

    def words_(self, count: int) -> list[str]:
        return self.random.choices(self.words, cum_weights=self.cumulative, k=count)

    def sentence(self, low: int = 8, high: int = 20) -> str:
        words = self.words_(self.random.randint(low, high))
        return " ".join(words).capitalize() + "."

    def paragraph_text(self, word_count: int) -> str:
        sentences, total = [], 0
        while total < word_count:
            sentence = self.sentence()
            sentences.append(sentence)
            total += sentence.count(" ") + 1
        return " ".join(sentences)


def slugify(name: str) -> str:
    return name.lower().replace(" ", "-")


def make_corpus(size: int, *, seed: int = 7, teams: int = 4) -> list[SyntheticAsset]:
    maker = TextMaker(seed)
    pick = maker.random
    assets = []
    for number in range(size):
        competitor = pick.choice(COMPETITORS)
        industry = pick.choice(INDUSTRIES)
        asset_type = pick.choice(TYPES)
        topic = " ".join(pick.sample(DOMAIN, 2))
        title = f"{competitor} {topic} {asset_type.replace('-', ' ')} for {industry} #{number}"
        assets.append(
            SyntheticAsset(
                number=number,
                title=title,
                summary=maker.sentence(15, 35),
                body=maker.paragraph_text(pick.randint(300, 800)),
                asset_type=asset_type,
                stages=tuple(pick.sample(STAGES, pick.randint(1, 2))),
                pillars=tuple(pick.sample(PILLARS, 1)),
                products=tuple(slugify(p) for p in pick.sample(PRODUCTS, pick.randint(0, 2))),
                industries=(slugify(industry),),
                personas=tuple(slugify(p) for p in pick.sample(PERSONAS, pick.randint(0, 2))),
                competitors=(slugify(competitor),) if pick.random() < 0.6 else (),
                team=pick.randrange(teams) if pick.random() < 0.1 else None,
            )
        )
    return assets


def make_queries(count: int, *, seed: int = 11) -> list[dict]:
    """A mix like reps type: one or two domain words, a competitor, a typo, a phrase, some
    with a facet filter."""
    pick = random.Random(seed)
    queries = []
    for number in range(count):
        kind = number % 6
        words = pick.sample(DOMAIN, 2)
        if kind == 0:
            text = words[0]
        elif kind == 1:
            text = " ".join(words)
        elif kind == 2:
            text = f"{pick.choice(COMPETITORS).lower()} {words[0]}"
        elif kind == 3:  # a typo: swap two inner letters of a long word
            word = pick.choice([w for w in DOMAIN if len(w) >= 7])
            index = pick.randrange(1, len(word) - 2)
            text = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
        elif kind == 4:
            text = f'"{words[0]} {words[1]}"'
        else:
            text = words[0]
        filters = {}
        if number % 3 == 0:
            filters["stage"] = (pick.choice(STAGES),)
        if number % 4 == 0:
            filters["type"] = (pick.choice(TYPES),)
        queries.append({"text": text, "filters": filters})
    return queries


# --- real rows ---------------------------------------------------------------------------------
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _step(number: int) -> str:
    digits = []
    for _ in range(4):
        number, remainder = divmod(number, 36)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def ensure_taxonomy():
    from cms.models import Competitor, Industry, Persona, Product

    for model, names in (
        (Competitor, COMPETITORS),
        (Industry, INDUSTRIES),
        (Persona, PERSONAS),
        (Product, PRODUCTS),
    ):
        for name in names:
            model.objects.get_or_create(slug=slugify(name), defaults={"name": name})


def bench_teams():
    from accounts.models import Team

    return [Team.objects.get_or_create(name=f"Bench team {n}")[0] for n in range(4)]


def insert_rows(
    assets: list[SyntheticAsset], *, label: str, sections: int = 20, batch: int = 2000
) -> None:
    """Insert every asset as a published AssetPage under ``sections`` library sections."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cms.models import AssetPage, LibraryPage
    from tests.factories import library_root

    ensure_taxonomy()
    root = library_root()
    teams = bench_teams()
    parents = []
    for number in range(sections):
        section = root.add_child(instance=LibraryPage(title=f"Bench {label} section {number}"))
        parents.append(section)
    lookups = _lookups()
    now = timezone.now()
    columns = _asset_columns()
    placeholders = ", ".join(["%s"] * len(columns))
    # Table and column names are this module's constants; values go through placeholders.
    insert_sql = (
        f"INSERT INTO {AssetPage._meta.db_table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608, E501
    )
    children = [0] * sections
    for start in range(0, len(assets), batch):
        chunk = assets[start : start + batch]
        with transaction.atomic():
            pages = _page_rows(chunk, parents, children, now)
            _bulk_pages(pages)
            with connection.cursor() as cursor:
                cursor.executemany(insert_sql, [_asset_row(a, p, lookups) for a, p in pages])
            _links(pages, lookups, teams)
    for section, count in zip(parents, children, strict=True):
        LibraryPage.objects.filter(pk=section.pk).update(numchild=count)


def _lookups() -> dict:
    from cms.models import AssetType, BuyerStage, Competitor, Industry, Persona, Pillar, Product

    return {
        "type": dict(AssetType.objects.values_list("slug", "pk")),
        "stages": dict(BuyerStage.objects.values_list("slug", "pk")),
        "pillars": dict(Pillar.objects.values_list("slug", "pk")),
        "products": dict(Product.objects.values_list("slug", "pk")),
        "industries": dict(Industry.objects.values_list("slug", "pk")),
        "personas": dict(Persona.objects.values_list("slug", "pk")),
        "competitors": dict(Competitor.objects.values_list("slug", "pk")),
    }


def _asset_columns() -> list[str]:
    return [
        "page_ptr_id",
        "summary",
        "body",
        "document_id",
        "external_url",
        "thumbnail_image_id",
        "asset_type_id",
        "review_by",
        "language",
        "archived",
        "buyer_description",
        "buyer_sharing",
    ]


def _asset_row(asset: SyntheticAsset, page, lookups) -> list:
    return [
        page.pk,
        asset.summary,
        f"<p>{asset.body}</p>",
        None,
        "",
        None,
        lookups["type"][asset.asset_type],
        None,
        "en",
        False,
        "",
        "",
    ]


def _page_rows(chunk, parents, children, now):
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Locale, Page

    from cms.models import AssetPage

    content_type = ContentType.objects.get_for_model(AssetPage)
    locale = Locale.get_default()
    rows = []
    for asset in chunk:
        index = asset.number % len(parents)
        parent = parents[index]
        children[index] += 1
        slug = f"bench-{asset.number}"
        page = Page(
            title=asset.title,
            draft_title=asset.title,
            slug=slug,
            content_type=content_type,
            path=parent.path + _step(children[index]),
            depth=parent.depth + 1,
            numchild=0,
            url_path=f"{parent.url_path}{slug}/",
            live=True,
            has_unpublished_changes=False,
            first_published_at=now,
            last_published_at=now,
            locale=locale,
            translation_key=uuid.uuid4(),
        )
        rows.append((asset, page))
    return rows


def _bulk_pages(pages) -> None:
    from wagtail.models import Page

    created = Page.objects.bulk_create([page for _, page in pages])
    for (_, page), saved in zip(pages, created, strict=True):
        page.pk = page.id = saved.pk


def _links(pages, lookups, teams) -> None:
    from cms.models import AssetPage

    for field in ("stages", "pillars", "products", "industries", "personas", "competitors"):
        relation = AssetPage._meta.get_field(field)
        through = relation.remote_field.through
        source, target = relation.m2m_field_name(), relation.m2m_reverse_field_name()
        rows = [
            through(**{f"{source}_id": page.pk, f"{target}_id": lookups[field][slug]})
            for asset, page in pages
            for slug in getattr(asset, field)
        ]
        through.objects.bulk_create(rows, batch_size=5000)
    through = AssetPage.restricted_teams.through
    through.objects.bulk_create(
        [
            through(assetpage_id=page.pk, team_id=teams[asset.team].pk)
            for asset, page in pages
            if asset.team is not None
        ]
    )


def to_document(asset: SyntheticAsset, *, published_at: int, team_ids: list[int]):
    """The search document for a synthetic asset, without any database row."""
    from search.documents import SearchDocument

    return SearchDocument(
        id=asset.number + 1,
        title=asset.title,
        summary=asset.summary,
        body=asset.body,
        url=f"/bench/{asset.number}/",
        terms={
            "asset_type": (asset.asset_type,),
            "stages": asset.stages,
            "pillars": asset.pillars,
            "products": asset.products,
            "industries": asset.industries,
            "personas": asset.personas,
            "competitors": asset.competitors,
        },
        owner="Bench owner",
        published_at=published_at - asset.number,
        audience=("all",) if asset.team is None else (f"team:{team_ids[asset.team]}",),
    )
