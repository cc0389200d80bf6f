"""A field material keeps the title the rep gave it (``FieldMaterial.title``). Existing ones get
the title of the first revision their rep saved, which is what they submitted; without one it
stays empty and the rep's notice names no title."""

from django.db import migrations, models


def titles_from_first_revisions(apps, schema_editor):
    FieldMaterial = apps.get_model("analytics", "FieldMaterial")
    Revision = apps.get_model("wagtailcore", "Revision")
    for material in FieldMaterial.objects.filter(title="").exclude(submitted_by=None):
        first = (
            Revision.objects.filter(
                base_content_type__app_label="wagtailcore",
                base_content_type__model="page",
                object_id=str(material.asset_id),
                user_id=material.submitted_by_id,
            )
            .order_by("created_at", "pk")
            .first()
        )
        title = (first.content or {}).get("title", "") if first else ""
        if title:
            FieldMaterial.objects.filter(pk=material.pk).update(title=title[:255])


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0017_verdicts_recomputed_under_the_interval_rule"),
        ("wagtailcore", "0072_alter_revision_content_type_notnull"),
    ]

    operations = [
        migrations.AddField(
            model_name="fieldmaterial",
            name="title",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.RunPython(titles_from_first_revisions, migrations.RunPython.noop),
    ]
