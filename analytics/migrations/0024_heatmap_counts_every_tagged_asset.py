"""A heat-map cell's estimate now counts every asset tagged with its stage and pillar that deals
used, archived, expired or unpublished ones too (``analytics.rollups.effects``); before, an
archived asset's deals left the cell's estimate. The heat map is marked for a whole
recomputation at the next refresh; otherwise it would keep figures made under the old rule
until one of its inputs moved (at the latest the next day)."""

from django.db import migrations


def recompute_at_the_next_refresh(apps, schema_editor):
    FillState = apps.get_model("analytics", "FillState")
    FillState.objects.filter(rollup="heatmap").update(inputs={})


class Migration(migrations.Migration):
    dependencies = [("analytics", "0023_import_job")]

    operations = [migrations.RunPython(recompute_at_the_next_refresh, migrations.RunPython.noop)]
