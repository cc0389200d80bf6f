import django.db.models.deletion
from django.db import migrations, models

INDEX = "analytics_usageevent_asset_id_ffc039de"  # the name Django gave it, on every database


class Migration(migrations.Migration):
    """Events lose their asset index (see ``UsageEvent.asset``). The index is dropped by name:
    an AlterField would make SQLite copy the whole events table to drop one index."""

    dependencies = [
        ("analytics", "0015_event_indexes_for_ingestion"),
        ("cms", "0005_team_moves_to_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="usageevent",
                    name="asset",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="cms.assetpage",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "analytics_usageevent" ("asset_id")',
                ),
            ],
        ),
    ]
