"""Searches get a key when they run, and the key of the search they continued as the rep typed (before the row is written; search.services spools them).
Rows recorded earlier keep no key: the field is added without a default first, so existing
rows stay NULL rather than sharing one value."""

import uuid

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("library_search", "0005_search_events")]

    operations = [
        migrations.AddField(
            model_name="searchevent",
            name="key",
            field=models.UUIDField(editable=False, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="searchevent",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="searchevent",
            name="refines",
            field=models.UUIDField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="searchevent",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
    ]
