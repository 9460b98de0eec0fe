"""An index of the sagas still running or FAILED (waiting for an operator): the metrics count them live
from it, and the console lists them by it, without reading the sagas that ended.

Built CONCURRENTLY (so outside a transaction): saga_instance was never pruned before, and a plain
CREATE INDEX would hold the orchestrator's writes for as long as it reads the whole table.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sagas", "0004_saga_trace"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="sagainstance",
            index=models.Index(
                condition=models.Q(("state__in", ["RUNNING", "COMPENSATING", "FAILED"])),
                fields=["state", "saga_type", "-created_at"],
                name="saga_instance_unfinished",
            ),
        ),
    ]
