"""A deals file's stage entry is marked as its stand-in (``DealStageChange.stand_in``), so a
history file can replace one whose stage the history had already left. Entries recorded
before this migration cannot be told apart and stay unmarked: they are kept, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0025_estimates_recomputed_with_shared_comparisons")]

    operations = [
        migrations.AddField(
            model_name="dealstagechange",
            name="stand_in",
            field=models.BooleanField(default=False),
        ),
    ]
