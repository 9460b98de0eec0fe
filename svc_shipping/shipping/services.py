"""Writes of the shipping service: each is one transaction and safe to repeat."""

from typing import Any

from django.conf import settings
from django.db import transaction

from shipping.models import Shipment, ShipmentStatus

NEVER_SERVED = frozenset({"AQ"})


def country_served(country: str) -> bool:
    return country not in NEVER_SERVED and country in settings.SHIPPING_COUNTRIES


@transaction.atomic
def shipment_schedule(
    *, order_id: str, country: str, address: dict[str, Any], customer_id: str = ""
) -> Shipment | None:
    """Schedule the order's shipment; None if the country is not served. A repeat returns the first."""
    existing = Shipment.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    if not country_served(country):
        return None
    return Shipment.objects.create(
        order_id=order_id,
        customer_id=customer_id,
        country=country,
        address=address,
        status=ShipmentStatus.SCHEDULED,
    )


@transaction.atomic
def shipment_cancel(*, order_id: str, country: str = "") -> Shipment:
    """Cancel the order's shipment; a cancelled one is not an error.

    A cancel before any shipment records a CANCELLED one, so a ScheduleShipment that arrives after
    its saga gave up finds it and is rejected instead of shipping an order nobody will approve.
    """
    shipment = Shipment.objects.select_for_update().filter(order_id=order_id).first()
    if shipment is None:
        shipment, _ = Shipment.objects.get_or_create(
            order_id=order_id,
            defaults={"country": country, "address": {}, "status": ShipmentStatus.CANCELLED},
        )
    if shipment.status == ShipmentStatus.SCHEDULED:
        shipment.status = ShipmentStatus.CANCELLED
        shipment.save(update_fields=["status", "updated_at"])
    return shipment
