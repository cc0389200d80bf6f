"""Team now lives in accounts (see accounts/migrations/0001_initial.py); its tables and the
restriction tables pointing at it are unchanged, so only the model state moves."""

import modelcluster.fields
from django.db import migrations

HELP = "Only these teams (and content managers) see this. Empty means everyone."


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0004_document_pages_transcripts_protected_status"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assetpage",
                    name="restricted_teams",
                    field=modelcluster.fields.ParentalManyToManyField(
                        blank=True, help_text=HELP, to="accounts.team"
                    ),
                ),
                migrations.AlterField(
                    model_name="librarypage",
                    name="restricted_teams",
                    field=modelcluster.fields.ParentalManyToManyField(
                        blank=True, help_text=HELP, to="accounts.team"
                    ),
                ),
                migrations.DeleteModel(name="Team"),
            ],
            database_operations=[],
        ),
    ]
