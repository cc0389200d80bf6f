import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Pending index updates are written ahead, in the transaction that needs them, and a
    newer request moves ``requested_at`` forward so that an older write does not clear it."""

    dependencies = [
        ("library_search", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(
            model_name="pendingindexupdate", old_name="created_at", new_name="requested_at"
        ),
        migrations.AlterField(
            model_name="pendingindexupdate",
            name="requested_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterModelOptions(
            name="pendingindexupdate", options={"ordering": ["requested_at"]}
        ),
    ]
