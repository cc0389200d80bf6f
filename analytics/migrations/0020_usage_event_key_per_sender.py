"""An idempotency key is unique per sender (0019 filled ``sender`` for existing events)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0019_usage_event_sender")]

    operations = [
        migrations.AlterField(
            model_name="usageevent",
            name="sender",
            field=models.CharField(max_length=30),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="idempotency_key",
            field=models.CharField(max_length=100),
        ),
        migrations.AddConstraint(
            model_name="usageevent",
            constraint=models.UniqueConstraint(
                fields=("sender", "idempotency_key"), name="analytics_event_once_per_sender"
            ),
        ),
    ]
