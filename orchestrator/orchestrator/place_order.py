"""The PlaceOrder saga (docs/design.md, "The PlaceOrder saga"), read top to bottom as its steps."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from saga_common.contracts import (
    ApproveOrder,
    AuthorizePayment,
    CancelShipment,
    CapturePayment,
    OrderCreated,
    PaymentAuthorized,
    PaymentCaptureFailed,
    PaymentDeclined,
    RejectOrder,
    ScheduleShipment,
    ShipmentRejected,
    ShipmentScheduled,
    VoidPayment,
)
from saga_common.sagas.definition import Saga


@dataclass
class PlaceOrderData:
    customer_id: str
    total: Decimal
    currency: str
    shipping_address: dict[str, Any]
    payment_id: str | None = None
    shipment_id: str | None = None
    rejection_reason: str | None = None

    @classmethod
    def from_event(cls, event: OrderCreated) -> "PlaceOrderData":
        return cls(
            customer_id=event.customer_id,
            total=event.total,
            currency=event.currency,
            shipping_address=event.shipping_address,
        )


def authorize_payment(data: PlaceOrderData) -> AuthorizePayment:
    return AuthorizePayment(customer_id=data.customer_id, amount=data.total, currency=data.currency)


def void_payment(data: PlaceOrderData) -> VoidPayment:
    return VoidPayment(customer_id=data.customer_id, amount=data.total, currency=data.currency)


def schedule_shipment(data: PlaceOrderData) -> ScheduleShipment:
    return ScheduleShipment(
        country=data.shipping_address["country"], address=data.shipping_address, customer_id=data.customer_id
    )


def cancel_shipment(data: PlaceOrderData) -> CancelShipment:
    return CancelShipment(country=data.shipping_address["country"])


def capture_payment(data: PlaceOrderData) -> CapturePayment:
    return CapturePayment()


def approve_order(data: PlaceOrderData) -> ApproveOrder:
    return ApproveOrder()


def reject_order(data: PlaceOrderData) -> RejectOrder:
    return RejectOrder(reason=data.rejection_reason or "the order could not be completed")


def record_payment(data: PlaceOrderData, reply: PaymentAuthorized) -> None:
    data.payment_id = reply.payment_id


def record_shipment(data: PlaceOrderData, reply: ShipmentScheduled) -> None:
    data.shipment_id = reply.shipment_id


def record_rejection(
    data: PlaceOrderData, reply: PaymentDeclined | ShipmentRejected | PaymentCaptureFailed
) -> None:
    data.rejection_reason = reply.reason


place_order = (
    Saga("place_order", PlaceOrderData)
    .step(
        authorize_payment,
        compensate=void_payment,
        on_reply={PaymentAuthorized: record_payment, PaymentDeclined: record_rejection},
    )
    .step(
        schedule_shipment,
        compensate=cancel_shipment,
        on_reply={ShipmentScheduled: record_shipment, ShipmentRejected: record_rejection},
    )
    .pivot(capture_payment, on_reply={PaymentCaptureFailed: record_rejection})
    .step(approve_order)
    .on_compensated(reject_order)
)
