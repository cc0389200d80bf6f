"""SearchEvent and SearchClick now belong to search (library_search/0004_search_events);
their tables stay, so only the model state leaves analytics."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_live_rollups"),
        ("library_search", "0005_search_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SearchClick"),
                migrations.DeleteModel(name="SearchEvent"),
            ],
            database_operations=[],
        ),
    ]
