from django.db import migrations, models


def recompute_once(apps, schema_editor):
    """Tables filled before this migration recorded no changes: the next fill of asset_usage
    recomputes it whole."""
    apps.get_model("analytics", "UsageChange").objects.create(field="reset")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0013_touch_rows_unconstrained"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("asset_id", models.BigIntegerField(null=True)),
                ("field", models.CharField(max_length=20)),
                ("old_day", models.DateField(null=True)),
                ("new_day", models.DateField(null=True)),
                ("count", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(recompute_once, migrations.RunPython.noop),
    ]
