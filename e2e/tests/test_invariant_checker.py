"""The invariant checker itself, on hand-made rows: it must catch each kind of inconsistency."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from e2e.invariants import Snapshot, check, check_intents


def payment(order_id: str, status: str, amount: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "customer_id": "c",
        "status": status,
        "amount": Decimal(amount),
        "currency": "EUR",
    }


def order(order_id: str, status: str, total: str, **more: object) -> dict[str, object]:
    fields = {"cancellation_reason": None, "cancellation_refused_reason": None, **more}
    return {
        "id": order_id,
        "customer_id": "c",
        "status": status,
        "total": Decimal(total),
        "currency": "EUR",
        **fields,
    }


def saga(order_id: str, state: str, saga_type: str = "place_order") -> dict[str, object]:
    return {"order_id": order_id, "saga_type": saga_type, "version": 2, "state": state}


def consistent() -> Snapshot:
    """An approved order, a rejected one, a cancelled one, and one whose cancellation was refused."""
    return Snapshot(
        orders=[
            order("a", "APPROVED", "25.00"),
            order("r", "REJECTED", "9.00"),
            order("k", "CANCELLED", "4.00", cancellation_reason="too slow"),
            order("d", "APPROVED", "1.00", cancellation_reason="", cancellation_refused_reason="dispatched"),
        ],
        payments=[
            payment("a", "CAPTURED", "25.00"),
            payment("r", "VOIDED", "9.00"),
            payment("k", "REFUNDED", "4.00"),
            payment("d", "CAPTURED", "1.00"),
        ],
        shipments=[
            {"order_id": "a", "status": "SCHEDULED"},
            {"order_id": "k", "status": "CANCELLED"},
            {"order_id": "d", "status": "DISPATCHED"},
        ],
        sagas=[
            saga("a", "COMPLETED"),
            saga("r", "COMPENSATED"),
            saga("k", "COMPLETED"),
            saga("k", "COMPLETED", "cancel_order"),
            saga("d", "COMPLETED"),
            saga("d", "COMPENSATED", "cancel_order"),
        ],
        unpublished={"orders": 0},
        accounts=[{"customer_id": "c", "credit_limit": Decimal("30.00"), "held": Decimal("26.00")}],
    )


def test_a_consistent_system_has_no_violations() -> None:
    assert check(consistent()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda s: s.sagas.pop(0), "order a has sagas {}"),
        (lambda s: s.sagas.append(saga("a", "COMPLETED")), "order a has sagas {'place_order': 2}"),
        (
            lambda s: s.sagas.__setitem__(0, saga("a", "COMPENSATED")),
            "but its sagas are ('COMPENSATED', None)",
        ),
        # cancellations: the sagas, the refund and the shipment must all agree
        (
            lambda s: s.sagas.append(saga("a", "COMPLETED", "cancel_order")),
            "exactly when a cancellation was asked",
        ),
        (lambda s: s.sagas.pop(3), "is CANCELLED but its sagas are ('COMPLETED', None)"),
        (lambda s: s.payments[2].update(status="CAPTURED"), "not one refund of the total"),
        (
            lambda s: s.shipments[1].update(status="DISPATCHED"),
            "cancelled order k has shipments ['DISPATCHED']",
        ),
        (lambda s: s.shipments[2].update(status="SCHEDULED"), "cancellation was refused, yet its shipment"),
        (lambda s: s.orders[2].update(status="CANCELLING"), "still CANCELLING"),
        (lambda s: s.orders[3].update(cancellation_refused_reason=None), "was refused without a reason"),
        (lambda s: s.shipments[0].update(released=False), "approved order a's shipment is still held"),
        (
            lambda s: s.payments[0].update(currency="USD"),
            "customer c: CAPTURED 25.00 USD != its orders' 0.00",
        ),
        (
            lambda s: s.shipments.append({"order_id": "r", "status": "DISPATCHED"}),
            "rejected order r has a shipment",
        ),
        (lambda s: s.payments[1].update(status="REFUNDED"), "rejected order r holds or held money"),
        (
            lambda s: s.payments.append(payment("y", "REFUNDED", "3.00")),
            "customer c: REFUNDED 7.00 EUR != its orders' 4.00",
        ),
        (lambda s: s.orders[0].update(status="PENDING"), "still PENDING"),
        (lambda s: s.payments[0].update(amount=Decimal("24.99")), "not one capture of the total"),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "a",
                    "customer_id": "c",
                    "status": "CAPTURED",
                    "amount": Decimal("25.00"),
                    "currency": "EUR",
                }
            ),
            "not one capture of the total",
        ),
        (lambda s: s.shipments.pop(0), "approved order a has shipments [], not one scheduled or dispatched"),
        (lambda s: s.payments[1].update(status="AUTHORIZED"), "holds or held money"),
        (
            lambda s: s.shipments.append({"order_id": "r", "status": "SCHEDULED"}),
            "rejected order r has a shipment",
        ),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "x",
                    "customer_id": "c",
                    "status": "CAPTURED",
                    "amount": Decimal("1.00"),
                    "currency": "EUR",
                }
            ),
            "customer c: CAPTURED 27.00 EUR != its orders' 26.00",
        ),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "x",
                    "customer_id": "c",
                    "status": "AUTHORIZED",
                    "amount": Decimal("1.00"),
                    "currency": "EUR",
                }
            ),
            "belong to no order (x)",
        ),
        (lambda s: s.shipments.append({"order_id": "x", "status": "SCHEDULED"}), "belong to no order (x)"),
        (lambda s: s.shipments.append({"order_id": "a", "status": "CANCELLED"}), "order a has 2 shipments"),
        (
            lambda s: s.payments.append(
                {
                    "order_id": "r",
                    "customer_id": "c",
                    "status": "VOIDED",
                    "amount": Decimal("9.00"),
                    "currency": "EUR",
                }
            ),
            "order r has 2 payments",
        ),
        (lambda s: s.accounts[0].update(held=Decimal("34.00")), "account c holds 34.00, its payments 26.00"),
        (
            lambda s: s.accounts[0].update(credit_limit=Decimal("20.00")),
            "account c has negative available credit",
        ),
        (lambda s: s.sagas.append(saga("zzz", "RUNNING")), "saga for unknown order"),
        (lambda s: s.unpublished.update(orders=3), "unpublished outbox rows"),
    ],
)
def test_each_kind_of_inconsistency_is_reported(breakage: object, expected: str) -> None:
    state = consistent()
    breakage(state)  # type: ignore[operator]
    violations = check(state)
    assert any(expected in v for v in violations), violations


GAVE_UP_AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def gave_up(state: Snapshot, event: str = "StepTimedOut", step: str = "authorize_payment") -> None:
    detail = f"{step}: no reply to 3 attempts"
    state.interventions.append({"order_id": "r", "event": event, "detail": detail, "at": GAVE_UP_AT})


def payments_stopped(step: str, at: datetime) -> bool:
    """A fault stopped payments from 10 s before the give-up until it."""
    return step.endswith("_payment") and GAVE_UP_AT - timedelta(seconds=10) <= at <= GAVE_UP_AT


def test_orders_that_end_as_meant_pass() -> None:
    assert check_intents(consistent(), {"a": True, "r": False}) == []


def test_an_order_that_could_not_be_approved_but_was_is_reported() -> None:
    assert check_intents(consistent(), {"a": False}) == ["order a was approved, though it could not be"]


def test_an_approvable_order_rejected_without_cause_is_reported() -> None:
    assert check_intents(consistent(), {"r": True}) == [
        "order r was rejected with nothing injected to explain it"
    ]


def test_a_rejection_explained_by_a_give_up_during_a_fault_passes() -> None:
    state = consistent()
    gave_up(state)
    assert check_intents(state, {"r": True}, payments_stopped) == []


def test_a_give_up_on_a_participant_no_fault_stopped_is_reported() -> None:
    state = consistent()
    gave_up(state, step="schedule_shipment")
    assert check_intents(state, {"r": True}, payments_stopped) != []


def test_a_rejection_explained_by_an_operator_passes() -> None:
    state = consistent()
    gave_up(state, event="OperatorCompensate", step="abandoned authorize_payment")
    assert check_intents(state, {"r": True}) == []
