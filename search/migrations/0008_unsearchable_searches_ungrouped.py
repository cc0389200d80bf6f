"""Searches recorded before text with no searchable word ("the", "of the") was recorded with no
normalised text: their text is cleared the same way, so search gaps never list them. The test
is frozen here as it stood (Lucene's English stop words; words over 40 letters are not
searched), not imported, so later changes to the query model cannot change this migration."""

from django.db import migrations

STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)


def _unsearchable(normalized: str) -> bool:
    return all(word in STOP_WORDS or len(word) > 40 for word in normalized.split())


def ungroup_unsearchable(apps, schema_editor):
    SearchEvent = apps.get_model("library_search", "SearchEvent")
    grouped = SearchEvent.objects.exclude(normalized_query="")
    texts = grouped.values_list("normalized_query", flat=True).distinct().iterator()
    cleared = [text for text in texts if _unsearchable(text)]
    for start in range(0, len(cleared), 500):
        grouped.filter(normalized_query__in=cleared[start : start + 500]).update(
            normalized_query=""
        )


class Migration(migrations.Migration):
    dependencies = [("library_search", "0007_admin_index_stale")]

    operations = [migrations.RunPython(ungroup_unsearchable, migrations.RunPython.noop)]
