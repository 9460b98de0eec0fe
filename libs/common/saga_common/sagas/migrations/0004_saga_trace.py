"""A saga's trace: the order's trace id (the console links to it) and the context its next command
sent by the deadline sweeper is a child of (saga_common.sagas.spans). Sagas that ran before have none."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0003_step_command_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="sagainstance",
            name="trace_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="sagainstance",
            name="trace_parent",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        # Defaults in the database too: during a rollout, orchestrators still running the older code
        # insert sagas without these columns (their sagas simply have no trace).
        migrations.RunSQL(
            "ALTER TABLE saga_instance ALTER COLUMN trace_id SET DEFAULT '',"
            " ALTER COLUMN trace_parent SET DEFAULT ''",
            "ALTER TABLE saga_instance ALTER COLUMN trace_id DROP DEFAULT,"
            " ALTER COLUMN trace_parent DROP DEFAULT",
        ),
    ]
