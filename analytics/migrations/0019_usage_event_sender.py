"""Idempotency keys become per sender (``UsageEvent.sender``). This step adds the column and
fills it for the events already stored; 0020 makes it required and replaces the unique key
with the unique (sender, key) pair.

Existing keys are unique across all senders, so any filling keeps every row and conflicts with
none. It is chosen so that a sender retrying, after the upgrade, an event it sent before it
still finds that event (a collector whose batch failed while the site was down for the upgrade
retries it afterwards):

- events the app recorded (views, downloads, shares, buyer opens; keys the app made): ``app``;
  the demo loader's: ``demo``;
- API events: ``key:<id>`` when, at the moment the event was stored, its user had exactly one
  usable API key and it was an integration key (nothing in the app posts events with a
  session, so it came through that key); else ``user:<id>`` (a personal key or a session);
  ``legacy`` when the user has since been deleted (nobody can send as them again).

Events an integration key stored before this change keep the key's owner as their ``user``:
which rep acted was never sent, and guessing is not this migration's to do.
"""

from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat


def _ends(key) -> list:
    return [moment for moment in (key.revoked_at, key.expires_at) if moment is not None]


def _integration_spans(keys) -> list[tuple[int, object, object]]:
    """(key id, from, until or None) over which ``keys`` (one user's) left exactly one usable
    key, an integration one."""
    moments = sorted({moment for key in keys for moment in (key.created_at, *_ends(key))})
    spans = []
    for index, start in enumerate(moments):
        usable = [k for k in keys if k.created_at <= start and all(start < t for t in _ends(k))]
        if len(usable) == 1 and usable[0].scope == "integration":
            until = moments[index + 1] if index + 1 < len(moments) else None
            spans.append((usable[0].pk, start, until))
    return spans


def senders_from_what_is_known(apps, schema_editor):
    UsageEvent = apps.get_model("analytics", "UsageEvent")
    ApiKey = apps.get_model("analytics", "ApiKey")
    unfilled = UsageEvent.objects.filter(sender__isnull=True)
    unfilled.filter(source="demo").update(sender="demo")
    api = unfilled.filter(source="api")
    owners = ApiKey.objects.filter(scope="integration").values_list("user_id", flat=True)
    for user_id in sorted(set(owners)):
        keys = list(ApiKey.objects.filter(user_id=user_id))
        for key_id, start, until in _integration_spans(keys):
            span = api.filter(user_id=user_id, received_at__gte=start)
            if until is not None:
                span = span.filter(received_at__lt=until)
            span.update(sender=f"key:{key_id}")
    api.exclude(user_id=None).update(
        sender=Concat(Value("user:"), Cast("user_id", CharField()), output_field=CharField())
    )
    api.update(sender="legacy")
    unfilled.update(sender="app")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0018_field_material_title")]

    operations = [
        migrations.AddField(
            model_name="usageevent",
            name="sender",
            field=models.CharField(max_length=30, null=True),
        ),
        migrations.RunPython(senders_from_what_is_known, migrations.RunPython.noop),
    ]
