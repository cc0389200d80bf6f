"""Team moves from cms to accounts. Its tables stay where they are (``cms_team``,
``cms_team_members``): only Django's model state moves, and the content type is renamed so
that the permissions granted on teams (and the groups holding them) carry over."""

from django.conf import settings
from django.db import migrations, models


def content_type_to_accounts(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="accounts", model="team").exists():
        ContentType.objects.using(db).filter(app_label="cms", model="team").update(
            app_label="accounts"
        )


def content_type_to_cms(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="cms", model="team").exists():
        ContentType.objects.using(db).filter(app_label="accounts", model="team").update(
            app_label="cms"
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cms", "0004_document_pages_transcripts_protected_status"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Team",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("slug", models.SlugField(blank=True, max_length=100, unique=True)),
                        (
                            "members",
                            models.ManyToManyField(
                                blank=True, related_name="teams", to=settings.AUTH_USER_MODEL
                            ),
                        ),
                    ],
                    options={"db_table": "cms_team", "ordering": ["name"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_accounts, content_type_to_cms),
    ]
