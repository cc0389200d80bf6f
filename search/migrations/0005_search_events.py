"""SearchEvent and SearchClick move from analytics to search. Their tables keep their names
(``analytics_searchevent``, ``analytics_searchclick``) and rows: only Django's model state
moves, and the content types are renamed (permissions granted on them carry over)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("searchevent", "searchclick")


def rename_content_types(old: str, new: str):
    def rename(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MODELS:
            if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
                ContentType.objects.using(db).filter(app_label=old, model=model).update(
                    app_label=new
                )

    return rename


class Migration(migrations.Migration):
    dependencies = [
        ("library_search", "0004_ranking_signals"),
        ("analytics", "0007_live_rollups"),
        ("cms", "0005_team_moves_to_accounts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SearchEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("query", models.CharField(blank=True, max_length=500)),
                        (
                            "normalized_query",
                            models.CharField(blank=True, db_index=True, max_length=500),
                        ),
                        ("filters", models.JSONField(blank=True, default=dict)),
                        ("result_count", models.PositiveIntegerField()),
                        ("latency_ms", models.FloatField()),
                        ("source", models.CharField(default="web", max_length=20)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "analytics_searchevent", "ordering": ["-created_at"]},
                ),
                migrations.CreateModel(
                    name="SearchClick",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("position", models.PositiveIntegerField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "asset",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="cms.assetpage",
                            ),
                        ),
                        (
                            "search",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="clicks",
                                to="library_search.searchevent",
                            ),
                        ),
                    ],
                    options={"db_table": "analytics_searchclick"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            rename_content_types("analytics", "library_search"),
            rename_content_types("library_search", "analytics"),
        ),
    ]
