"""What a customer's payments hold, summed from them: what ``Account.held`` must always equal."""

from decimal import Decimal

from django.db.models import Sum

from payments.models import HOLDING_STATUSES, Payment


def held_by_payments(customer_id: str) -> Decimal:
    held = Payment.objects.filter(customer_id=customer_id, status__in=HOLDING_STATUSES).aggregate(
        total=Sum("amount")
    )["total"]
    return held or Decimal("0.00")
