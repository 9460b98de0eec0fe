"""Every attempt's command id on its step, so a reply is matched without recomputing ids."""

import uuid

import django.contrib.postgres.fields
from django.db import migrations, models


def fill_command_ids(apps, schema_editor):
    """Steps of sagas that ran before: their attempts' ids, as saga_common.sagas.ids made them."""
    SagaStep = apps.get_model("sagas", "SagaStep")
    for step in SagaStep.objects.filter(command_ids=[]).iterator():
        step.command_ids = [
            uuid.uuid5(step.saga_id, f"{step.kind}:{step.definition_index}:{attempt}")
            for attempt in range(1, step.attempts + 1)
        ]
        step.save(update_fields=["command_ids"])


class Migration(migrations.Migration):
    dependencies = [("sagas", "0002_step_deadlines")]

    operations = [
        migrations.AddField(
            model_name="sagastep",
            name="command_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.UUIDField(), default=list, size=None
            ),
        ),
        # A default in the database too: during a rollout, orchestrators still running the older code
        # insert steps without this column. (Retries they send are not added to it; replies to those
        # are recorded as ignored, and the step is retried once more by the new code.)
        migrations.RunSQL(
            "ALTER TABLE saga_step ALTER COLUMN command_ids SET DEFAULT '{}'::uuid[]",
            "ALTER TABLE saga_step ALTER COLUMN command_ids DROP DEFAULT",
        ),
        migrations.RunPython(fill_command_ids, migrations.RunPython.noop),
    ]
