"""The PlaceOrder saga read as a specification (pure: no database, no broker)."""

from decimal import Decimal

from orchestrator.place_order import PlaceOrderData, place_order
from saga_common.contracts import (
    PAYMENTS_COMMANDS,
    SHIPPING_COMMANDS,
    AuthorizePayment,
    PaymentDeclined,
    RejectOrder,
    ScheduleShipment,
    ShipmentRejected,
)
from saga_common.sagas.definition import ActionKind, Finish, Invoke, SagaState

FORWARD, COMPENSATION, FINAL = ActionKind.FORWARD, ActionKind.COMPENSATION, ActionKind.FINAL


def data() -> PlaceOrderData:
    return PlaceOrderData(
        customer_id="c-1",
        total=Decimal("25.00"),
        currency="EUR",
        shipping_address={"country": "AQ", "city": "McMurdo"},
    )


def command(kind: ActionKind, index: int, saga_data: PlaceOrderData) -> object:
    return place_order.action(kind, index).make_command(saga_data)


def test_steps_read_as_the_design_says() -> None:
    assert [s.invoke.name for s in place_order.steps] == [
        "authorize_payment",
        "schedule_shipment",
        "capture_payment",
        "approve_order",
    ]
    assert [s.compensate.name if s.compensate else None for s in place_order.steps] == [
        "void_payment",
        "cancel_shipment",
        None,
        None,
    ]
    assert [s.pivot for s in place_order.steps] == [False, False, True, False]


def test_given_order_data_expect_authorize_payment_to_payments() -> None:
    sent = command(FORWARD, 0, data())
    assert sent == AuthorizePayment(customer_id="c-1", amount=Decimal("25.00"), currency="EUR")
    assert AuthorizePayment.topic == PAYMENTS_COMMANDS


def test_given_payment_authorized_expect_schedule_shipment_to_the_order_country() -> None:
    assert place_order.after_reply(FORWARD, 0, succeeded=True) == Invoke(FORWARD, 1, SagaState.RUNNING)
    assert command(FORWARD, 1, data()) == ScheduleShipment(
        country="AQ", address={"country": "AQ", "city": "McMurdo"}, customer_id=data().customer_id
    )
    assert ScheduleShipment.topic == SHIPPING_COMMANDS


def test_given_payment_declined_expect_reject_order_with_the_reason() -> None:
    saga_data = data()
    place_order.steps[0].invoke.on_reply[PaymentDeclined](saga_data, PaymentDeclined(reason="no credit"))
    assert place_order.after_reply(FORWARD, 0, succeeded=False) == Invoke(FINAL, 0, SagaState.COMPENSATING)
    assert command(FINAL, 0, saga_data) == RejectOrder(reason="no credit")


def test_given_shipment_rejected_expect_void_payment_then_reject() -> None:
    saga_data = data()
    place_order.steps[1].invoke.on_reply[ShipmentRejected](
        saga_data, ShipmentRejected(reason="we do not ship to AQ")
    )
    assert place_order.after_reply(FORWARD, 1, succeeded=False) == Invoke(
        COMPENSATION, 0, SagaState.COMPENSATING
    )
    assert type(command(COMPENSATION, 0, saga_data)).__name__ == "VoidPayment"
    assert place_order.after_reply(COMPENSATION, 0, succeeded=True) == Invoke(
        FINAL, 0, SagaState.COMPENSATING
    )
    assert command(FINAL, 0, saga_data) == RejectOrder(reason="we do not ship to AQ")


def test_after_the_capture_the_saga_only_goes_forward() -> None:
    assert place_order.after_reply(FORWARD, 2, succeeded=True) == Invoke(FORWARD, 3, SagaState.RUNNING)
    assert place_order.after_reply(FORWARD, 3, succeeded=True) == Finish(SagaState.COMPLETED)
    assert place_order.after_reply(FORWARD, 3, succeeded=False) == Finish(SagaState.FAILED)
