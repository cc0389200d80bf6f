"""Seed the three pillars, a default buyer journey mapped to Salesforce's standard stages,
and the common asset types. Editors can change all of them afterwards."""

from django.db import migrations

PILLARS = [
    ("Why Buy?", "why-buy", "Why change at all?"),
    ("Why Buy You?", "why-buy-you", "Why us over the alternatives?"),
    ("Why Buy Now?", "why-buy-now", "Why act this quarter?"),
]

STAGES = [
    ("Discover", "discover", ["Prospecting", "Qualification"]),
    (
        "Evaluate",
        "evaluate",
        ["Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis"],
    ),
    ("Decide", "decide", ["Proposal/Price Quote", "Negotiation/Review"]),
    ("Onboard", "onboard", ["Closed Won"]),
]

ASSET_TYPES = [
    "Deck",
    "Case study",
    "Battlecard",
    "One-pager",
    "ROI calculator",
    "Datasheet",
    "Whitepaper",
    "Demo script",
    "Email template",
    "Video",
]


def seed(apps, schema_editor):
    Pillar = apps.get_model("cms", "Pillar")
    BuyerStage = apps.get_model("cms", "BuyerStage")
    AssetType = apps.get_model("cms", "AssetType")
    for order, (name, slug, question) in enumerate(PILLARS):
        Pillar.objects.get_or_create(
            slug=slug, defaults={"name": name, "question": question, "sort_order": order}
        )
    for order, (name, slug, crm) in enumerate(STAGES):
        BuyerStage.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "sort_order": order, "crm_stage_names": "\n".join(crm)},
        )
    for name in ASSET_TYPES:
        slug = name.lower().replace(" ", "-")
        AssetType.objects.get_or_create(slug=slug, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("cms", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
