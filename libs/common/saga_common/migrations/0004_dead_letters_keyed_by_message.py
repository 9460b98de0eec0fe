"""Dead letters keyed by the message (its id, else the record's position, timestamp and bytes) instead of
the position alone, which a new poison message can share with an old one once offsets begin again."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("saga_common", "0003_dead_letters_and_messaging_snapshot"),
    ]

    operations = [
        migrations.AddField(
            model_name="deadletter",
            name="timestamp_ms",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="deadletter",
            name="occurrences",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="deadletter",
            name="identity",
            field=models.CharField(default="", max_length=120),
            preserve_default=False,
        ),
        # Letters kept before: each stays its own (its row id keeps them apart).
        migrations.RunSQL(
            "UPDATE saga_dead_letter SET identity = 'legacy:' || id::text",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveConstraint(model_name="deadletter", name="one_dead_letter_per_record"),
        migrations.AddConstraint(
            model_name="deadletter",
            constraint=models.UniqueConstraint(fields=("topic", "identity"), name="one_dead_letter_per_message"),
        ),
    ]
