"""Writes of the shipping service: each is one transaction and safe to repeat."""

from typing import Any

from django.conf import settings
from django.db import transaction

from shipping.models import Shipment, ShipmentStatus

NEVER_SERVED = frozenset({"AQ"})


def country_served(country: str) -> bool:
    return country not in NEVER_SERVED and country in settings.SHIPPING_COUNTRIES


@transaction.atomic
def shipment_schedule(*, order_id: str, country: str, address: dict[str, Any]) -> Shipment | None:
    """Schedule the order's shipment; None if the country is not served. A repeat returns the first."""
    existing = Shipment.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    if not country_served(country):
        return None
    return Shipment.objects.create(
        order_id=order_id, country=country, address=address, status=ShipmentStatus.SCHEDULED
    )


@transaction.atomic
def shipment_cancel(*, order_id: str) -> Shipment | None:
    """Cancel the order's shipment; no shipment, or a cancelled one, is not an error."""
    shipment = Shipment.objects.select_for_update().filter(order_id=order_id).first()
    if shipment is not None and shipment.status == ShipmentStatus.SCHEDULED:
        shipment.status = ShipmentStatus.CANCELLED
        shipment.save(update_fields=["status", "updated_at"])
    return shipment
