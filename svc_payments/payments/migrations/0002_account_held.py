"""Keep what each account holds as a column (see Account.held) and fill it from the payments."""

from decimal import Decimal

from django.db import migrations, models

HOLDING_STATUSES = ("AUTHORIZED", "CAPTURED")  # payments.models.HOLDING_STATUSES when this was written


def fill_held(apps, schema_editor):  # type: ignore[no-untyped-def]
    Account = apps.get_model("payments", "Account")
    Payment = apps.get_model("payments", "Payment")
    totals = (
        Payment.objects.filter(status__in=HOLDING_STATUSES)
        .values("customer_id")
        .annotate(total=models.Sum("amount"))
    )
    for row in totals:
        Account.objects.filter(customer_id=row["customer_id"]).update(held=row["total"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="held",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.RunPython(fill_held, migrations.RunPython.noop),
    ]
