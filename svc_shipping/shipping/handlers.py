"""Commands the shipping service answers (shipping.commands); refusals become named replies
(``saga_common.messaging.participant``)."""

from saga_common.messaging.message import Reply
from saga_common.messaging.participant import command_handlers
from shipping import services
from shipping.models import ShipmentStatus
from shop_contracts import (
    CancelShipment,
    ReleaseShipment,
    ScheduleShipment,
    ShipmentCancelled,
    ShipmentRejected,
    ShipmentReleased,
    ShipmentScheduled,
)


def schedule_shipment(command: ScheduleShipment, order_id: str) -> Reply:
    shipment = services.shipment_schedule(
        order_id=order_id,
        country=command.country,
        address=command.address,
        customer_id=command.customer_id,
        hold_until_released=command.hold_until_released,
    )
    if shipment is None:
        return ShipmentRejected(reason=f"we do not ship to {command.country}")
    if shipment.status != ShipmentStatus.SCHEDULED:
        return ShipmentRejected(reason=f"shipment is {shipment.status}")
    return ShipmentScheduled(shipment_id=str(shipment.id))


def cancel_shipment(command: CancelShipment, order_id: str) -> Reply:
    services.shipment_cancel(order_id=order_id, country=command.country)
    return ShipmentCancelled()


def release_shipment(command: ReleaseShipment, order_id: str) -> Reply:
    services.shipment_release(order_id=order_id)
    return ShipmentReleased()


HANDLERS = command_handlers(
    {
        ScheduleShipment: schedule_shipment,
        CancelShipment: cancel_shipment,
        ReleaseShipment: release_shipment,
    }
)
