"""A verdict now also needs the 95% interval shown beside it to leave out zero
(``analytics.effectiveness.SHOWN_ALPHA``). The derived rollups that hold verdicts are marked for
a whole recomputation at the next refresh; otherwise they would keep verdicts made under the
old rule until one of their inputs moved (at the latest the next day)."""

from django.db import migrations

JUDGED = ("asset_effects", "heatmap", "overview")


def recompute_at_the_next_refresh(apps, schema_editor):
    FillState = apps.get_model("analytics", "FillState")
    FillState.objects.filter(rollup__in=JUDGED).update(inputs={})


class Migration(migrations.Migration):
    dependencies = [("analytics", "0016_events_without_asset_index")]

    operations = [migrations.RunPython(recompute_at_the_next_refresh, migrations.RunPython.noop)]
