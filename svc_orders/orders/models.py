import uuid

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLING = "CANCELLING"  # its CancelOrder saga runs: it ends CANCELLED, or APPROVED again
    CANCELLED = "CANCELLED"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    items = models.JSONField()
    shipping_address = models.JSONField()
    # The contract shows null until an order is rejected, so NULL (not "") means "no reason".
    rejection_reason = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # What the customer gave as the reason to cancel (null: never asked to), and why the cancellation
    # was refused (null: it was not); a refused cancellation is final, its shipment being on its way.
    cancellation_reason = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    cancellation_refused_reason = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_order"
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"order {self.id} ({self.status})"


class IdempotencyKey(models.Model):
    """A customer's Idempotency-Key, the request it came with and the response it got.

    Keys are scoped per customer: two customers choosing the same key never see each other's orders.
    They are pruned after ``IDEMPOTENCY_KEY_RETENTION_HOURS``.
    """

    customer_id = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    order = models.ForeignKey(Order, null=True, on_delete=models.CASCADE)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "orders_idempotency_key"
        constraints = [
            models.UniqueConstraint(fields=["customer_id", "key"], name="one_idempotency_key_per_customer")
        ]

    def __str__(self) -> str:
        return self.key
