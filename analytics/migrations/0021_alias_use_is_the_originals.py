"""Use of an alias (Wagtail's "Create alias": an asset placed again in another section) is use
of its original: events, feedback and buyer links recorded under an alias's id move to the id
of the page the alias chain starts from, and every rollup is rebuilt at the next refresh, so
the dashboards show the asset once with all of its use. Outdated-reviews move too, but at most
one may be open per asset: an alias's open review is dropped when the original (or another of
its aliases) has one open, which then lists the alias's reports as well."""

from django.db import migrations
from django.db.models import Case, IntegerField, Value, When

MOVED = ("UsageEvent", "AssetFeedback", "ShareLink")


def originals(Page) -> dict[int, int]:
    """alias id -> id of the page its chain starts from (Wagtail nulls ``alias_of`` when the
    page an alias was made from is deleted, so every chain ends at a page)."""
    alias_of = dict(Page.objects.filter(alias_of__isnull=False).values_list("pk", "alias_of_id"))
    found = {}
    for alias, at in alias_of.items():
        while at in alias_of:
            at = alias_of[at]
        found[alias] = at
    return found


def move_to_originals(apps, schema_editor):
    found = originals(apps.get_model("wagtailcore", "Page"))
    if not found:
        return
    moved = 0
    to_original = Case(
        *[When(asset_id=alias, then=Value(original)) for alias, original in found.items()],
        output_field=IntegerField(),
    )
    for name in MOVED:
        rows = apps.get_model("analytics", name).objects.filter(asset_id__in=list(found))
        moved += rows.update(asset_id=to_original)  # one pass over the table
    Review = apps.get_model("analytics", "OutdatedReview")
    for review in Review.objects.filter(asset_id__in=list(found)).order_by("raised_at", "pk"):
        original = found[review.asset_id]
        open_there = Review.objects.filter(asset_id=original, resolved_at__isnull=True)
        if review.resolved_at is None and open_there.exists():
            review.delete()
        else:
            Review.objects.filter(pk=review.pk).update(asset_id=original)
    if moved:
        FillState = apps.get_model("analytics", "FillState")
        FillState.objects.update(state="started", mode="full", inputs={})
        apps.get_model("analytics", "UsageChange").objects.create(field="reset")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0020_usage_event_key_per_sender"),
        ("wagtailcore", "0058_page_alias_of"),
    ]

    operations = [migrations.RunPython(move_to_originals, migrations.RunPython.noop)]
