"""What the shipping service is told (schedule, cancel) and answers."""

from saga_common.messaging.message import Command, Refusal, Reply
from shop_contracts.fields import Address, CountryCode, Identifier, OptionalCountryCode, OptionalIdentifier
from shop_contracts.topics import ORCHESTRATOR_REPLIES, SHIPPING, SHIPPING_COMMANDS


class ShipmentScheduled(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING
    shipment_id: Identifier


class ShipmentRejected(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING


class ShipmentCancelled(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING


class ShipmentCancellationRefused(Refusal, frozen=True, kw_only=True):
    """The shipment was dispatched: it is on its way and can no longer be cancelled."""

    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING


class ShipmentReleased(Reply, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING


class ShipmentReleaseFailed(Refusal, frozen=True, kw_only=True):
    topic = ORCHESTRATOR_REPLIES
    namespace = SHIPPING


class ScheduleShipment(Command, frozen=True, kw_only=True):
    topic = SHIPPING_COMMANDS
    namespace = SHIPPING
    outcomes = (ShipmentScheduled, ShipmentRejected)
    refusal = ShipmentRejected
    country: CountryCode
    address: Address
    # whose shipment it is, so customers can see their own (empty: sent before the field existed)
    customer_id: OptionalIdentifier = ""
    # Hold the shipment (not dispatchable) until ReleaseShipment: PlaceOrder v2 schedules it beside the
    # payment's authorization, before the money is captured. False: dispatchable at once (v1).
    hold_until_released: bool = False


class CancelShipment(Command, frozen=True, kw_only=True):
    """Cancel the order's shipment; before any was scheduled it records a CANCELLED one, so a late
    ScheduleShipment is rejected rather than shipping an order whose saga gave up. A DISPATCHED shipment
    cannot be cancelled: that refusal is what refuses an order's cancellation (the CancelOrder saga's
    pivot)."""

    topic = SHIPPING_COMMANDS
    namespace = SHIPPING
    outcomes = (ShipmentCancelled, ShipmentCancellationRefused)
    refusal = ShipmentCancellationRefused
    country: OptionalCountryCode = ""


class ReleaseShipment(Command, frozen=True, kw_only=True):
    """The order's money is captured: its held shipment may now be dispatched (PlaceOrder v2, after
    its pivot). A shipment cancelled meanwhile (the order was cancelled) is left as it is, and the
    reply is still ShipmentReleased; refused only for an order without a shipment."""

    topic = SHIPPING_COMMANDS
    namespace = SHIPPING
    outcomes = (ShipmentReleased, ShipmentReleaseFailed)
    refusal = ShipmentReleaseFailed
