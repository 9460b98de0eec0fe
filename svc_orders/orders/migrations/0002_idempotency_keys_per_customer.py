"""Scope Idempotency-Keys per customer (tokens now say who the customer is).

The key stops being the primary key, so the table is re-created: stored keys are dropped. They only
protect client retries within IDEMPOTENCY_KEY_RETENTION_HOURS, and no deployment predates this.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.DeleteModel(name="IdempotencyKey"),
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer_id", models.CharField(max_length=64)),
                ("key", models.CharField(max_length=255)),
                ("request_fingerprint", models.CharField(max_length=64)),
                ("response_body", models.JSONField(null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "order",
                    models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, to="orders.order"),
                ),
            ],
            options={
                "db_table": "orders_idempotency_key",
                "constraints": [
                    models.UniqueConstraint(fields=("customer_id", "key"), name="one_idempotency_key_per_customer")
                ],
            },
        ),
    ]
