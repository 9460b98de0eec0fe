"""The shop's message contracts, in one place: every command, event and reply of the system.

The sender builds these classes and the receiver parses them, so both sides are tested against the
same definition; ``docs/contract/`` holds the JSON Schema of each and the AsyncAPI document of the
topics, generated from them (``make contract-docs``). The framework (``saga_common``) never imports
this package.
"""

from shop_contracts.orders import (
    ApproveOrder,
    ConfirmOrderCancellation,
    OrderApprovalFailed,
    OrderApproved,
    OrderCancellationFailed,
    OrderCancellationRefusalFailed,
    OrderCancellationRefused,
    OrderCancellationRequested,
    OrderCancelled,
    OrderCreated,
    OrderRejected,
    OrderRejectionFailed,
    RefuseOrderCancellation,
    RejectOrder,
)
from shop_contracts.payments import (
    AuthorizePayment,
    CapturePayment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentVoided,
    PaymentVoidFailed,
    RefundPayment,
    VoidPayment,
)
from shop_contracts.shipping import (
    CancelShipment,
    ScheduleShipment,
    ShipmentCancellationRefused,
    ShipmentCancelled,
    ShipmentRejected,
    ShipmentScheduled,
)
from shop_contracts.topics import (
    ALL_TOPICS,
    ORCHESTRATOR_REPLIES,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    PAYMENTS_COMMANDS,
    SHIPPING_COMMANDS,
)

__all__ = [
    "ALL_TOPICS",
    "ORCHESTRATOR_REPLIES",
    "ORDERS_COMMANDS",
    "ORDERS_EVENTS",
    "PAYMENTS_COMMANDS",
    "SHIPPING_COMMANDS",
    "ApproveOrder",
    "AuthorizePayment",
    "CancelShipment",
    "CapturePayment",
    "ConfirmOrderCancellation",
    "OrderApprovalFailed",
    "OrderApproved",
    "OrderCancellationFailed",
    "OrderCancellationRefusalFailed",
    "OrderCancellationRefused",
    "OrderCancellationRequested",
    "OrderCancelled",
    "OrderCreated",
    "OrderRejected",
    "OrderRejectionFailed",
    "PaymentAuthorized",
    "PaymentCaptureFailed",
    "PaymentCaptured",
    "PaymentDeclined",
    "PaymentRefundFailed",
    "PaymentRefunded",
    "PaymentVoidFailed",
    "PaymentVoided",
    "RefundPayment",
    "RefuseOrderCancellation",
    "RejectOrder",
    "ScheduleShipment",
    "ShipmentCancellationRefused",
    "ShipmentCancelled",
    "ShipmentRejected",
    "ShipmentScheduled",
    "VoidPayment",
]
