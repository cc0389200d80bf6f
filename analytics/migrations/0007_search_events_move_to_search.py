"""SearchEvent and SearchClick now belong to search (library_search/0004_search_events);
their tables stay, so only the model state leaves analytics."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_share_link_details_api_key_expiry"),
        ("library_search", "0004_search_events"),
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
