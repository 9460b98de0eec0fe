import uuid

from django.db import models


class ShipmentStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED"
    DISPATCHED = "DISPATCHED"  # on its way: it can no longer be cancelled
    CANCELLED = "CANCELLED"


class Shipment(models.Model):
    """The one shipment of an order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.CharField(max_length=64, unique=True)
    customer_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=ShipmentStatus.choices)
    country = models.CharField(max_length=2)
    address = models.JSONField()
    # False: held until its order's money is captured (PlaceOrder v2 schedules it beside the payment's
    # authorization; ReleaseShipment comes after the pivot); only a released shipment is dispatched.
    released = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "shipping_shipment"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"shipment {self.id} ({self.status})"
