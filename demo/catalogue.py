"""The fictional world of the demo library: Tidewater Data, a data-reliability software company,
its products, competitors, customers, industries, personas, teams, library sections and the
people who use the library. Plain data; ``demo.library`` turns it into pages, files and users.

Everything here is invented. Company names use the reserved ``.example`` domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.roles import ADMIN, ENABLEMENT_LEAD, MARKETER, REP
from demo.files import AudienceFacts, CustomerFacts, ProductFacts, RivalFacts

COMPANY = "Tidewater Data"
LIBRARY_INTRO = (
    "Everything you need to sell Tidewater Data, the data reliability platform: decks, "
    "battlecards, customer stories and business-case tools, placed on the buyer journey."
)
VIDEO_BASE = "https://video.tidewater.example/"
EMAIL_DOMAIN = "tidewater.example"

PRODUCTS = {
    "pipelines": ProductFacts(
        name="Tidewater Pipelines",
        tagline="Managed ingestion with 340 connectors that heal themselves when a source "
        "schema drifts.",
        edge="Pipelines is the only ingestion service that ships with observability built in, "
        "so a failed sync and the dashboards it breaks show up in the same incident.",
        features=(
            "Change-data capture from Postgres, MySQL, SQL Server and Oracle",
            "Automatic schema-drift handling with a reviewable change log",
            "Per-connector freshness targets with paging when they slip",
        ),
        proof=(
            "Median time to add a new source fell from nine days to four hours.",
            "99.95% of scheduled syncs completed on time across 2,100 customers last year.",
        ),
        specs=(
            "Runs in Tidewater's cloud or in your own VPC on AWS, Azure or GCP",
            "SOC 2 Type II and ISO 27001; data encrypted with customer-managed keys",
            "Loads Snowflake, BigQuery, Databricks, Redshift and Postgres",
        ),
        packaging="Priced per million monthly active rows, with unlimited connectors.",
        savings_pct=35,
    ),
    "observe": ProductFacts(
        name="Tidewater Observe",
        tagline="Data observability that learns freshness, volume, schema and distribution "
        "baselines for every table without hand-written rules.",
        edge="Observe ties each anomaly to the upstream job that caused it and the dashboards "
        "it reaches, so the right owner is paged once instead of five teams guessing.",
        features=(
            "Machine-learned monitors on every table within 48 hours of connecting",
            "Incident timelines with root-cause hints from query logs",
            "Slack, PagerDuty and Jira routing by table owner",
        ),
        proof=(
            "Customers detect 83% of data incidents before a business user reports them.",
            "Mean time to resolution drops from 11 hours to 2.5 hours in the first quarter.",
        ),
        specs=(
            "Reads only metadata and query logs; row-level sampling is opt-in",
            "Warehouses: Snowflake, BigQuery, Databricks, Redshift",
            "Monitors up to 250,000 tables per workspace",
        ),
        packaging="Priced per monitored table in bands of 1,000 tables.",
        savings_pct=60,
    ),
    "lineage": ProductFacts(
        name="Tidewater Lineage",
        tagline="Column-level lineage from source to dashboard, parsed from SQL, dbt and BI "
        "metadata.",
        edge="Lineage shows the blast radius of a change before it merges: every downstream "
        "column, dashboard and owner, right in the pull request.",
        features=(
            "Column-level lineage across dbt, Airflow, Looker, Tableau and Power BI",
            "Impact analysis comments on pull requests",
            "Searchable data catalogue with owners and certification badges",
        ),
        proof=(
            "Breaking schema changes reaching production fell by 74%.",
            "Analysts answer 'where does this number come from?' in minutes, not days.",
        ),
        specs=(
            "Parses SQL dialects of Snowflake, BigQuery, Databricks, Redshift and Postgres",
            "API and OpenLineage events for custom tools",
            "Role-based access mirrored from the warehouse",
        ),
        packaging="Included with Observe; sold alone per 25 editor seats.",
        savings_pct=40,
    ),
    "contracts": ProductFacts(
        name="Tidewater Contracts",
        tagline="Data contracts between producers and consumers, checked in CI before a "
        "change ships.",
        edge="Contracts turns last quarter's incidents into checks that run in the producer's "
        "own pipeline, so teams stop breaking each other's data by accident.",
        features=(
            "Contracts written in YAML next to the code that produces the data",
            "CI checks for GitHub, GitLab and Bitbucket",
            "Contract coverage report per domain team",
        ),
        proof=(
            "Producer-caused incidents fell by two thirds within two quarters.",
            "Teams with contracts ship schema changes 3x more often with fewer rollbacks.",
        ),
        specs=(
            "Open contract format, exportable at any time",
            "Runs as a CLI in any CI system or as a hosted check",
            "Validates schemas, semantics and service-level objectives",
        ),
        packaging="Priced per producing repository.",
        savings_pct=45,
    ),
}
PLATFORM = ProductFacts(
    name="the Tidewater platform",
    tagline="One platform to move data, watch it, trace it and agree on it.",
    edge="Ingestion, observability, lineage and contracts share one metadata graph, so every "
    "alert arrives with its cause and its consequences.",
    features=tuple(product.features[0] for product in PRODUCTS.values()),
    proof=PRODUCTS["observe"].proof + PRODUCTS["pipelines"].proof[:1],
    specs=PRODUCTS["pipelines"].specs,
    packaging="Platform agreements bundle all four products with one annual commitment.",
    savings_pct=55,
)

RIVALS = {
    "brightwell": RivalFacts(
        name="Brightwell Data",
        summary="The best-known observability vendor; sells top-down to CDOs with a broad "
        "monitor catalogue, but every monitor is a rule someone has to write and maintain.",
        strengths=(
            "Brand recognition with data executives",
            "Large library of monitor templates",
        ),
        our_edge=(
            "Learned baselines instead of hand-written rules: coverage on day two, not month six",
            "Incidents linked to the pipeline run that caused them",
            "Pricing per table band, not per monitor, so coverage does not cost more",
        ),
        landmines=(
            "How many monitors did your team write by hand in the trial?",
            "What happens to the bill when you monitor every table, not just the top 100?",
        ),
    ),
    "quarrystone": RivalFacts(
        name="Quarrystone ETL",
        summary="The incumbent on-premises ETL suite, now offered as a hosted edition; "
        "entrenched in banks and insurers, slow to ship cloud connectors.",
        strengths=("Deep mainframe and SAP connectors", "Existing enterprise agreements"),
        our_edge=(
            "New SaaS connectors in days, not release cycles",
            "No servers or agents to patch",
            "Observability included instead of a separate monitoring purchase",
        ),
        landmines=(
            "When did Quarrystone last ship a connector you asked for?",
            "Who gets paged when a nightly job silently loads half the rows?",
        ),
    ),
    "pipewise": RivalFacts(
        name="Pipewise",
        summary="A low-cost ingestion tool popular with start-ups; fast to start, but no "
        "monitoring, lineage or support beyond e-mail.",
        strengths=("Low entry price", "Quick self-serve setup"),
        our_edge=(
            "Schema-drift handling instead of failed syncs",
            "A 99.9% sync SLA with credits",
            "Lineage shows what a broken sync affects",
        ),
        landmines=(
            "What happened the last time a source added a column?",
            "What does their SLA promise, in writing?",
        ),
    ),
    "diy": RivalFacts(
        name="in-house scripts",
        summary="Homegrown Airflow DAGs and dbt tests maintained by the buyer's own "
        "engineers; free to start, expensive to keep.",
        strengths=("No new vendor or procurement", "Full control"),
        our_edge=(
            "Engineers build products instead of maintaining monitors",
            "Coverage of every table, not only the ones someone remembered to test",
            "Audit-ready incident history",
        ),
        landmines=(
            "How many engineer-hours went into data firefighting last quarter?",
            "Who maintains the scripts when their author leaves?",
        ),
    ),
}

INDUSTRIES = {
    "financial-services": AudienceFacts(
        "Financial services",
        "A stale risk table is a regulatory finding: DORA and BCBS 239 expect banks to prove "
        "their data is complete and on time.",
    ),
    "healthcare": AudienceFacts(
        "Healthcare and life sciences",
        "Clinical and claims data feeds decisions about patients; a silent schema change can "
        "drop records that HIPAA auditors will ask about.",
    ),
    "retail": AudienceFacts(
        "Retail and e-commerce",
        "Pricing and inventory feeds change by the minute; a late feed on Black Friday means "
        "wrong prices on thousands of products.",
    ),
    "manufacturing": AudienceFacts(
        "Manufacturing",
        "Plant and supplier data arrive from dozens of systems; a broken feed hides a supply "
        "problem until the line stops.",
    ),
    "media-gaming": AudienceFacts(
        "Media and gaming",
        "Player and audience metrics drive daily campaign spend; a duplicated event stream "
        "can burn a week of budget before anyone notices.",
    ),
    "software": AudienceFacts(
        "Software and internet",
        "Usage and billing events price every invoice of a usage-based plan; a dropped "
        "event stream undercharges customers until finance reconciles the quarter.",
    ),
}

PERSONAS = {
    "head-of-data": AudienceFacts(
        "Head of Data", "Data leaders are judged on trust: one wrong board number undoes a year."
    ),
    "data-engineer": AudienceFacts(
        "Data engineer", "Data engineers lose a day a week to incidents they did not cause."
    ),
    "analytics-engineer": AudienceFacts(
        "Analytics engineer",
        "Analytics engineers own dbt models but learn about upstream changes from angry users.",
    ),
    "cfo": AudienceFacts(
        "CFO", "Finance leaders want data spend tied to outcomes they can put in a forecast."
    ),
    "ciso": AudienceFacts(
        "CISO", "Security leaders need to know which vendors touch which data, and prove it."
    ),
}

# What the demo CRM calls some terms, by taxonomy (``demo.library._Terms``) and catalogue key:
# the deals' industry column (``demo.deals.INDUSTRIES``) says "Retail" where the library says
# "Retail and e-commerce". Deal mode matches a deal's value to a term by slug, name or one of
# these (the terms' "CRM names"), as deal imports match CRM stages to buyer stages.
CRM_NAMES = {
    "industries": {
        "retail": ("Retail",),
        "healthcare": ("Healthcare", "Life sciences"),
        "software": ("Software", "Internet"),
        "media-gaming": ("Media", "Gaming"),
    },
    "personas": {
        "head-of-data": ("Chief Data Officer", "VP Data"),
        "cfo": ("Chief Financial Officer",),
        "ciso": ("Chief Information Security Officer",),
    },
    "competitors": {
        "brightwell": ("Brightwell",),
        "quarrystone": ("Quarrystone",),
        "diy": ("In-house", "DIY"),
    },
}

# The demo's search synonyms (Settings > Search synonyms), one set per line as marketers write
# them: the words reps type for what the library's titles say another way.
SEARCH_SYNONYMS = """\
roi, return on investment, payback
tco, total cost of ownership
battlecard, battle card, competitive
case study, customer story, success story
in-house scripts, homegrown, diy
cdo, chief data officer
ciso, chief information security officer
gdpr, data protection
sla, service level agreement
etl, ingestion
"""

TEAMS = {
    "north-america": "North America",
    "emea": "EMEA",
    "apac": "APAC",
    "strategic-accounts": "Strategic accounts",
}


@dataclass(frozen=True)
class Customer:
    facts: CustomerFacts
    industry: str
    product: str
    rival: str | None = None


def _customer(name, industry, product, profile, challenge, results, quote, speaker, rival=None):
    facts = CustomerFacts(name, profile, challenge, tuple(results), quote, speaker)
    return Customer(facts, industry, product, rival)


CUSTOMERS = {
    customer.facts.name: customer
    for customer in (
        _customer(
            "Harbor Mutual",
            "financial-services",
            "observe",
            "A 140-year-old insurer with 9,000 employees and 60 data engineers.",
            "Actuarial models read 400 tables loaded overnight; failures surfaced days later.",
            ("Incidents found by users fell from 31 to 4 a quarter", "BCBS 239 audit passed"),
            "We stopped finding out about bad data from the actuaries.",
            "Dana Whitfield, VP Data Platforms",
            "brightwell",
        ),
        _customer(
            "Larkspur Payments",
            "financial-services",
            "pipelines",
            "A payments processor handling 2 billion transactions a year.",
            "Settlement data from 14 acquirers arrived late and in changing formats.",
            ("Settlement reports on time 99.97% of days", "Four engineers moved to product work"),
            "Schema drift used to mean a war room. Now it is a line in a change log.",
            "Rui Matsumoto, Head of Data Engineering",
            "quarrystone",
        ),
        _customer(
            "Meridian Health Network",
            "healthcare",
            "lineage",
            "A network of 22 hospitals in the US Midwest.",
            "Nobody could say which reports used a claims field before changing it.",
            ("Change reviews cut from two weeks to two days", "Zero broken regulatory reports"),
            "Lineage turned a two-week impact review into a comment on the pull request.",
            "Grace Adeyemi, Director of Analytics",
        ),
        _customer(
            "Alder Biosciences",
            "healthcare",
            "contracts",
            "A clinical-stage biotech running trials in eleven countries.",
            "Lab vendors changed file layouts without notice, stalling trial dashboards.",
            ("Vendor-caused incidents down 70%", "Trial dashboards refreshed daily, not weekly"),
            "Contracts gave our vendors a clear definition of done.",
            "Henrik Solberg, Clinical Data Lead",
        ),
        _customer(
            "Copperleaf Outfitters",
            "retail",
            "observe",
            "An outdoor retailer with 310 stores and a fast-growing online shop.",
            "A late inventory feed published wrong stock levels during the holiday peak.",
            ("Peak-season data incidents cut by 80%", "$2.1M in lost sales avoided"),
            "Observe caught the feed problem at 5 a.m., before a single wrong price went live.",
            "Maya Lindqvist, Director of Data",
            "diy",
        ),
        _customer(
            "Basket & Bough",
            "retail",
            "pipelines",
            "A grocery delivery start-up in 40 cities.",
            "Their low-cost ingestion tool dropped rows whenever a supplier added a column.",
            ("Supplier onboarding in one day", "No dropped rows in nine months"),
            "We outgrew the cheap tool the week our suppliers doubled.",
            "Tomas Reyes, Staff Data Engineer",
            "pipewise",
        ),
        _customer(
            "Ironvale Components",
            "manufacturing",
            "lineage",
            "A maker of precision parts with plants in Germany, Mexico and Ohio.",
            "Plant KPIs disagreed between regions and nobody knew which pipeline was right.",
            ("One certified OEE metric across 12 plants", "Month-end close two days shorter"),
            "For the first time every plant manager trusts the same number.",
            "Katrin Vogel, Head of Manufacturing Analytics",
        ),
        _customer(
            "Northgate Robotics",
            "manufacturing",
            "contracts",
            "A warehouse-robotics company streaming telemetry from 20,000 robots.",
            "Firmware teams renamed telemetry fields and broke fleet-health reports.",
            ("Telemetry breakages down 90%", "Fleet-health report trusted by field service"),
            "Firmware and data teams finally share one definition of a robot event.",
            "Arjun Mehta, VP Engineering",
            "diy",
        ),
        _customer(
            "Lumen Play Studios",
            "media-gaming",
            "observe",
            "A mobile-game studio with 35 million monthly players.",
            "Duplicated events inflated retention metrics and misdirected ad spend.",
            ("Duplicate events caught within 20 minutes", "Ad spend reallocated with confidence"),
            "Observe paid for itself the first week it caught a duplicated event stream.",
            "Sofia Marchetti, Head of Player Analytics",
            "brightwell",
        ),
        _customer(
            "Signal Street Media",
            "media-gaming",
            "pipelines",
            "A digital publisher with 140 sites and a subscription business.",
            "Ad-server exports failed silently and revenue reports were days late.",
            ("Revenue reports on time every morning", "Ad-ops reconciliation automated"),
            "Our revenue meeting now starts with decisions instead of data questions.",
            "Liam O'Connor, Director of Revenue Operations",
        ),
    )
}


@dataclass(frozen=True)
class SectionSpec:
    slug: str
    title: str
    intro: str
    owner: str
    teams: tuple[str, ...] = ()


SECTIONS = (
    SectionSpec("product", "Product", "Overviews, datasheets and demo scripts.", "noor"),
    SectionSpec("competitive", "Competitive", "Battlecards and switching guides.", "marketer"),
    SectionSpec("customer-stories", "Customer stories", "Case studies and videos.", "leo"),
    SectionSpec("pricing-roi", "Pricing and ROI", "Business cases and offers.", "marketer"),
    SectionSpec("prospecting", "Prospecting", "Outreach sequences and first calls.", "leo"),
    SectionSpec("onboarding", "Onboarding and adoption", "Kickoffs and value reviews.", "noor"),
    SectionSpec(
        "emea-field-kit",
        "EMEA field kit",
        "Regional pricing, compliance and partner material for EMEA sellers only.",
        "marketer",
        ("emea",),
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    name: str
    teams: tuple[str, ...] = ()
    try_this: str = ""


DEMO_PASSWORDS = {  # fixed on purpose: printed after seeding and listed in the README
    "marketer": "demo-marketer",  # noqa: S105
    "rep": "demo-rep",  # noqa: S105
    "lead": "demo-lead",  # noqa: S105
    "admin": "demo-admin",  # noqa: S105
}
DEMO_USERS = (
    DemoUser(
        "marketer",
        DEMO_PASSWORDS["marketer"],
        MARKETER,
        "Priya Nair",
        try_this="/admin/governance/needs-review/: your overdue assets; edit one, submit it",
    ),
    DemoUser(
        "rep",
        DEMO_PASSWORDS["rep"],
        REP,
        "Sam Carter",
        ("north-america",),
        "/: browse and search; the EMEA field kit and APAC-only assets are hidden",
    ),
    DemoUser(
        "lead",
        DEMO_PASSWORDS["lead"],
        ENABLEMENT_LEAD,
        "Jordan Blake",
        try_this="/analytics/; /admin/governance/coverage/ (two gaps); approve submissions",
    ),
    DemoUser(
        "admin",
        DEMO_PASSWORDS["admin"],
        ADMIN,
        "Alex Morgan",
        try_this="everything; /admin/ users, groups and reports",
    ),
)
# Marketers who own content but have no demo login (unusable passwords).
CONTENT_OWNERS = (
    DemoUser("noor", "", MARKETER, "Noor Haddad"),
    DemoUser("leo", "", MARKETER, "Leo Brandt"),
)
