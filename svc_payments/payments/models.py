import uuid
from decimal import Decimal

from django.db import models


class Account(models.Model):
    """A customer's credit account: available = credit_limit - held."""

    customer_id = models.CharField(max_length=64, primary_key=True)
    currency = models.CharField(max_length=3)
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2)
    # The sum of the customer's payments in HOLDING_STATUSES, changed in the same transaction as each
    # payment that enters or leaves them. Summing the payments instead read every payment the customer
    # ever made on each authorization (the benchmark's one customer: ~900 rows a saga, and growing).
    held = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_account"

    def __str__(self) -> str:
        return self.customer_id


class PaymentStatus(models.TextChoices):
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    VOIDED = "VOIDED"
    CAPTURED = "CAPTURED"
    REFUNDED = "REFUNDED"  # the CancelOrder saga gave the captured money back


# Payments in these states hold part of the credit limit.
HOLDING_STATUSES = (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


class Payment(models.Model):
    """The one payment of an order (declined ones too, so a repeated authorization gets the same answer)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.CharField(max_length=64, unique=True)
    customer_id = models.CharField(max_length=64, db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    decline_reason = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - NULL: not declined
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_payment"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"payment {self.id} ({self.status})"
