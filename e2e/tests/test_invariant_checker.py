"""The invariant checker itself, on hand-made rows: it must catch each kind of inconsistency."""

from decimal import Decimal

import pytest

from e2e.invariants import Snapshot, check


def consistent() -> Snapshot:
    return Snapshot(
        orders=[
            {"id": "a", "status": "APPROVED", "total": Decimal("25.00"), "currency": "EUR"},
            {"id": "r", "status": "REJECTED", "total": Decimal("9.00"), "currency": "EUR"},
        ],
        payments=[
            {"order_id": "a", "status": "CAPTURED", "amount": Decimal("25.00"), "currency": "EUR"},
            {"order_id": "r", "status": "VOIDED", "amount": Decimal("9.00"), "currency": "EUR"},
        ],
        shipments=[{"order_id": "a", "status": "SCHEDULED"}],
        sagas=[{"order_id": "a", "state": "COMPLETED"}, {"order_id": "r", "state": "COMPENSATED"}],
        unpublished={"orders": 0},
    )


def test_a_consistent_system_has_no_violations() -> None:
    assert check(consistent()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda s: s.sagas.pop(), "has 0 sagas"),
        (lambda s: s.sagas.append({"order_id": "a", "state": "COMPLETED"}), "has 2 sagas"),
        (
            lambda s: s.sagas.__setitem__(0, {"order_id": "a", "state": "COMPENSATED"}),
            "but its saga is COMPENSATED",
        ),
        (lambda s: s.orders[0].update(status="PENDING"), "still PENDING"),
        (lambda s: s.payments[0].update(amount=Decimal("24.99")), "not one capture of the total"),
        (
            lambda s: s.payments.append(
                {"order_id": "a", "status": "CAPTURED", "amount": Decimal("25.00"), "currency": "EUR"}
            ),
            "not one capture of the total",
        ),
        (lambda s: s.shipments.clear(), "0 scheduled shipments"),
        (lambda s: s.payments[1].update(status="AUTHORIZED"), "still holds money"),
        (lambda s: s.shipments.append({"order_id": "r", "status": "SCHEDULED"}), "has a scheduled shipment"),
        (
            lambda s: s.payments.append(
                {"order_id": "x", "status": "CAPTURED", "amount": Decimal("1.00"), "currency": "EUR"}
            ),
            "captured",
        ),
        (lambda s: s.sagas.append({"order_id": "zzz", "state": "RUNNING"}), "saga for unknown order"),
        (lambda s: s.unpublished.update(orders=3), "unpublished outbox rows"),
    ],
)
def test_each_kind_of_inconsistency_is_reported(breakage: object, expected: str) -> None:
    state = consistent()
    breakage(state)  # type: ignore[operator]
    violations = check(state)
    assert any(expected in v for v in violations), violations
