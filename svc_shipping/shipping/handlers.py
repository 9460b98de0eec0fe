"""Commands the shipping service answers (shipping.commands); refusals become named replies."""

from saga_common.contracts import (
    CancelShipment,
    ScheduleShipment,
    ShipmentCancelled,
    ShipmentRejected,
    ShipmentScheduled,
)
from saga_common.envelope import Envelope
from saga_common.inbox import HandlerRegistry
from saga_common.participant import reply
from shipping import services
from shipping.models import ShipmentStatus


def schedule_shipment(command: Envelope) -> None:
    request = command.message_as(ScheduleShipment)
    shipment = services.shipment_schedule(
        order_id=command.order_id,
        country=request.country,
        address=request.address,
        customer_id=request.customer_id,
    )
    if shipment is None:
        reply(command, ShipmentRejected(reason=f"we do not ship to {request.country}"))
    elif shipment.status != ShipmentStatus.SCHEDULED:
        reply(command, ShipmentRejected(reason=f"shipment is {shipment.status}"))
    else:
        reply(command, ShipmentScheduled(shipment_id=str(shipment.id)))


def cancel_shipment(command: Envelope) -> None:
    request = command.message_as(CancelShipment)
    services.shipment_cancel(order_id=command.order_id, country=request.country)
    reply(command, ShipmentCancelled())


HANDLERS: HandlerRegistry = {ScheduleShipment: schedule_shipment, CancelShipment: cancel_shipment}
