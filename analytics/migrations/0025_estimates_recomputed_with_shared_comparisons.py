"""Estimates are now computed on a clock of whole milliseconds (equal offsets into a stay are
equal), their intervals count each shared comparison deal once
(``analytics.stats.shared_comparison_variance``), and the raw and stage-matched lifts follow
the minimum-sample rule. The derived rollups that hold estimates and verdicts are marked for a
whole recomputation at the next refresh; otherwise they would keep figures made under the old
rules until one of their inputs moved (at the latest the next day)."""

from django.db import migrations

JUDGED = ("asset_effects", "heatmap", "overview")


def recompute_at_the_next_refresh(apps, schema_editor):
    FillState = apps.get_model("analytics", "FillState")
    FillState.objects.filter(rollup__in=JUDGED).update(inputs={})


class Migration(migrations.Migration):
    dependencies = [("analytics", "0024_heatmap_counts_every_tagged_asset")]

    operations = [migrations.RunPython(recompute_at_the_next_refresh, migrations.RunPython.noop)]
