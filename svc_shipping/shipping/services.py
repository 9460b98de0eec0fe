"""Writes of the shipping service: each is safe to repeat, and runs in the shipping unit of work
(``shipping.unit_of_work``): on its own, one transaction; in the inbox, part of its batch's."""

from typing import Any

from django.conf import settings

from saga_common.errors import Conflict, NotFound
from shipping.models import Shipment, ShipmentStatus
from shipping.unit_of_work import ShippingUnit

NEVER_SERVED = frozenset({"AQ"})


def country_served(country: str) -> bool:
    return country not in NEVER_SERVED and country in settings.SHIPPING_COUNTRIES


def shipment_schedule(
    *,
    order_id: str,
    country: str,
    address: dict[str, Any],
    customer_id: str = "",
    hold_until_released: bool = False,
) -> Shipment | None:
    """Schedule the order's shipment (held until released, if asked); None if the country is not
    served. A repeat returns the first."""
    with ShippingUnit.scope() as unit:
        existing = unit.shipments.get(order_id)
        if existing is not None:
            return existing
        if not country_served(country):
            return None
        return unit.shipments.add(
            Shipment(
                order_id=order_id,
                customer_id=customer_id,
                country=country,
                address=address,
                status=ShipmentStatus.SCHEDULED,
                released=not hold_until_released,
            )
        )


def shipment_cancel(*, order_id: str, country: str = "") -> Shipment:
    """Cancel the order's shipment; a cancelled one is not an error, a DISPATCHED one is refused
    (``Conflict``: it is on its way).

    A cancel before any shipment records a CANCELLED one, so a ScheduleShipment that arrives after
    its saga gave up finds it and is rejected instead of shipping an order nobody will approve.
    """
    with ShippingUnit.scope() as unit:
        shipment = unit.shipments.get(order_id)
        if shipment is None:  # written at once, not at the end: see Rows.insert_at_once
            shipment = unit.shipments.insert_at_once(
                Shipment(order_id=order_id, country=country, address={}, status=ShipmentStatus.CANCELLED)
            )
        if shipment.status == ShipmentStatus.DISPATCHED:
            raise Conflict(f"shipment {shipment.id} was dispatched and cannot be cancelled")
        if shipment.status == ShipmentStatus.SCHEDULED:
            shipment.status = ShipmentStatus.CANCELLED
            unit.shipments.changed(shipment)
        return shipment


def shipment_dispatch(*, shipment_id: str) -> Shipment:
    """Send a SCHEDULED shipment on its way (an operator's action); dispatching a DISPATCHED one again
    changes nothing, a CANCELLED one is refused (``Conflict``).

    The shipment's row lock orders a dispatch and a CancelShipment of the same order: whichever
    commits first wins, and the other sees its outcome (a cancelled shipment is not dispatched; a
    dispatched one is not cancelled, which refuses the order's cancellation).
    """
    with ShippingUnit.scope() as unit:
        order_id = Shipment.objects.filter(id=shipment_id).values_list("order_id", flat=True).first()
        shipment = unit.shipments.get(order_id) if order_id is not None else None
        if shipment is None:
            raise NotFound(f"no shipment {shipment_id}")
        if shipment.status == ShipmentStatus.CANCELLED:
            raise Conflict(f"shipment {shipment_id} was cancelled and cannot be dispatched")
        if not shipment.released:
            raise Conflict(f"shipment {shipment_id} is held until its order's payment is captured")
        if shipment.status == ShipmentStatus.SCHEDULED:
            shipment.status = ShipmentStatus.DISPATCHED
            unit.shipments.changed(shipment)
        return shipment


def shipment_release(*, order_id: str) -> Shipment:
    """The order's money is captured: its held shipment may be dispatched. Releasing a released (or
    dispatched) one again changes nothing, nor does releasing a cancelled one (its order was cancelled
    meanwhile: there is nothing left to ship, and PlaceOrder must still end); an unknown one is refused
    (``Conflict``)."""
    with ShippingUnit.scope() as unit:
        shipment = unit.shipments.get(order_id)
        if shipment is None:
            raise Conflict(f"order {order_id} has no shipment to release")
        if shipment.status == ShipmentStatus.SCHEDULED and not shipment.released:
            shipment.released = True
            unit.shipments.changed(shipment)
        return shipment
