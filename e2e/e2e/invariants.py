"""The invariants of docs/contract.md, checked across all four databases.

``snapshot`` reads the rows; ``check`` is pure and returns every violation it finds, so it can be
tested on hand-made rows and reused by any suite that needs to know the system is consistent.
``check_intents`` adds what only the load knows: what each order was meant to end as.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extras


@dataclass
class Snapshot:
    orders: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    sagas: list[dict[str, Any]] = field(default_factory=list)
    unpublished: dict[str, int] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    # What a saga's history says happened to it that no participant decided: give-ups and operators.
    interventions: list[dict[str, Any]] = field(default_factory=list)


QUERIES = {
    "orders": [
        "SELECT id::text, customer_id, status, total, currency, cancellation_reason,"
        " cancellation_refused_reason FROM orders_order"
    ],
    "payments": [
        "SELECT order_id, customer_id, status, amount, currency FROM payments_payment",
        "SELECT customer_id, credit_limit, held FROM payments_account",
    ],
    "shipments": ["SELECT order_id, status, released FROM shipping_shipment"],
    "sagas": [
        "SELECT order_id, saga_type, version, state FROM saga_instance",
        "SELECT s.order_id, e.event, e.detail, e.at FROM saga_event e"
        " JOIN saga_instance s ON s.id = e.saga_id WHERE e.event IN ('StepTimedOut', 'OperatorCompensate')",
    ],
}
TABLES = {
    "orders": ["orders"],
    "payments": ["payments", "accounts"],
    "shipments": ["shipments"],
    "sagas": ["sagas", "interventions"],
}


def snapshot(database_urls: dict[str, str]) -> Snapshot:
    """Read what the invariants need from the four services' databases (keys: service names)."""
    result = Snapshot()
    for service, url in database_urls.items():
        with (
            psycopg2.connect(url) as connection,
            connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor,
        ):
            table = {
                "orders": "orders",
                "payments": "payments",
                "shipping": "shipments",
                "orchestrator": "sagas",
            }[service]
            for query, name in zip(QUERIES[table], TABLES[table], strict=True):
                cursor.execute(query)
                setattr(result, name, [dict(row) for row in cursor.fetchall()])
            # Every outbox row published: scheduled ones (1) are a backlog, refused ones (-1) were set aside.
            cursor.execute("SELECT count(*) AS n FROM published WHERE status <> 2")
            (count,) = cursor.fetchall()
            result.unpublished[service] = int(count["n"])
        connection.close()
    return result


# What the order's sagas end as, by the order's status: PlaceOrder's, then CancelOrder's (None: none).
END_STATES = {
    "APPROVED": ("COMPLETED", None),
    "REJECTED": ("COMPENSATED", None),
    "CANCELLED": ("COMPLETED", "COMPLETED"),
}


def check(state: Snapshot) -> list[str]:
    """Return a description of every broken invariant (empty when the system is consistent)."""
    violations: list[str] = []
    payments = defaultdict(list)
    for payment in state.payments:
        payments[payment["order_id"]].append(payment)
    shipments = defaultdict(list)
    for shipment in state.shipments:
        shipments[shipment["order_id"]].append(shipment)
    sagas: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for saga in state.sagas:
        sagas[saga["order_id"]][saga["saga_type"]].append(saga)
    for order in state.orders:
        violations += _check_order(order, sagas.pop(order["id"], {}), payments, shipments)
    violations += _check_money(state)
    for order_id in sagas:
        violations.append(f"saga for unknown order {order_id}")
    for service, count in state.unpublished.items():
        if count:
            violations.append(f"{service} has {count} unpublished outbox rows")
    violations += _check_effects(state, payments, shipments)
    violations += _check_accounts(state)
    return violations


def _check_order(
    order: dict[str, Any],
    its_sagas: dict[str, list[dict[str, Any]]],
    payments: dict[str, list[dict[str, Any]]],
    shipments: dict[str, list[dict[str, Any]]],
) -> list[str]:
    """One order: its sagas ended as its status says, and its payment and shipment agree with both."""
    order_id, status = order["id"], order["status"]
    placing, cancelling = its_sagas.get("place_order", []), its_sagas.get("cancel_order", [])
    if len(placing) != 1 or len(cancelling) > 1 or set(its_sagas) - {"place_order", "cancel_order"}:
        counts = {kind: len(found) for kind, found in its_sagas.items()}
        return [f"order {order_id} has sagas {counts}: one place_order and at most one cancel_order expected"]
    ends = END_STATES.get(status)
    if ends is None:
        return [f"order {order_id} is still {status} (sagas {[s['state'] for s in placing + cancelling]})"]
    refused = order.get("cancellation_refused_reason")
    violations = []
    if status == "APPROVED" and cancelling:  # its cancellation was refused: the shipment went out
        ends = ("COMPLETED", "COMPENSATED")
        if not refused:
            violations.append(f"order {order_id}'s cancellation was refused without a reason")
    found = (placing[0]["state"], cancelling[0]["state"] if cancelling else None)
    if found != ends:
        violations.append(f"order {order_id} is {status} but its sagas are {found}, not {ends}")
    if bool(cancelling) != (order.get("cancellation_reason") is not None):
        violations.append(f"order {order_id}: a cancel_order saga exactly when a cancellation was asked")
    statuses = [p["status"] for p in payments[order_id]]
    shipped = [s["status"] for s in shipments[order_id]]
    paid = [
        p
        for p in payments[order_id]
        if p["status"] == {"APPROVED": "CAPTURED", "CANCELLED": "REFUNDED"}.get(status)
    ]
    if status == "APPROVED":
        if len(paid) != 1 or Decimal(paid[0]["amount"]) != Decimal(order["total"]):
            violations.append(
                f"approved order {order_id} has payments {statuses}, not one capture of the total"
            )
        if shipped not in (["SCHEDULED"], ["DISPATCHED"]):
            violations.append(
                f"approved order {order_id} has shipments {shipped}, not one scheduled or dispatched"
            )
        if refused and shipped != ["DISPATCHED"]:
            violations.append(f"order {order_id}'s cancellation was refused, yet its shipment is {shipped}")
        if any(s["status"] == "SCHEDULED" and s.get("released") is False for s in shipments[order_id]):
            violations.append(f"approved order {order_id}'s shipment is still held, never released")
    elif status == "CANCELLED":
        # the point of the CancelOrder saga's pivot: money back only for a shipment that does not go out
        if len(paid) != 1 or Decimal(paid[0]["amount"]) != Decimal(order["total"]):
            violations.append(
                f"cancelled order {order_id} has payments {statuses}, not one refund of the total"
            )
        if shipped != ["CANCELLED"]:
            violations.append(f"cancelled order {order_id} has shipments {shipped}, not one cancelled")
    else:
        held = [s for s in statuses if s in ("AUTHORIZED", "CAPTURED", "REFUNDED")]
        if held:
            violations.append(f"rejected order {order_id} holds or held money: {held}")
        if [s for s in shipped if s in ("SCHEDULED", "DISPATCHED")]:
            violations.append(f"rejected order {order_id} has a shipment {shipped}")
    return violations


def _check_money(state: Snapshot) -> list[str]:
    """Money is conserved per account and currency: what each customer's payments captured (and still
    hold) is the total of their APPROVED orders, and what was refunded the total of their CANCELLED
    ones."""
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    moved: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for order in state.orders:
        kind = {"APPROVED": "CAPTURED", "CANCELLED": "REFUNDED"}.get(order["status"])
        if kind is not None:
            expected[(order["customer_id"], order["currency"], kind)] += Decimal(order["total"])
    for payment in state.payments:
        if payment["status"] in ("CAPTURED", "REFUNDED"):
            key = (payment["customer_id"], payment["currency"], payment["status"])
            moved[key] += Decimal(payment["amount"])
    zero = Decimal("0.00")
    return [
        f"customer {customer}: {kind} {moved.get(key, zero)} {currency} "
        f"!= its orders' {expected.get(key, zero)}"
        for key in sorted(set(expected) | set(moved))
        for customer, currency, kind in [key]
        if moved.get(key, zero) != expected.get(key, zero)
    ]


def _check_effects(
    state: Snapshot, payments: dict[str, list[dict[str, Any]]], shipments: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """No effect twice, none without its order."""
    violations = []
    orders = {order["id"] for order in state.orders}
    for kind, effects in (("payments", payments), ("shipments", shipments)):
        for order_id, rows in effects.items():
            if len(rows) > 1:
                violations.append(f"order {order_id} has {len(rows)} {kind}")
            if order_id not in orders:
                statuses = [row["status"] for row in rows]
                violations.append(f"{kind} {statuses} belong to no order ({order_id})")
    return violations


def _check_accounts(state: Snapshot) -> list[str]:
    """What an account holds is the sum of its holding payments, and never more than its limit."""
    violations = []
    holding: dict[str, Decimal] = defaultdict(Decimal)
    for payment in state.payments:
        if payment["status"] in ("AUTHORIZED", "CAPTURED"):
            holding[payment["customer_id"]] += Decimal(payment["amount"])
    for account in state.accounts:
        customer, held = account["customer_id"], Decimal(account["held"])
        if held != holding.get(customer, Decimal("0.00")):
            violations.append(f"account {customer} holds {held}, its payments {holding.get(customer, 0)}")
        if Decimal(account["credit_limit"]) - held < 0:
            violations.append(f"account {customer} has negative available credit")
    return violations


Excused = Callable[[str, datetime], bool]  # (step given up on, when) -> was a fault injected there?


def check_intents(
    state: Snapshot, intended: dict[str, bool], excused: Excused = lambda step, at: False
) -> list[str]:
    """Orders end as meant: ``intended`` maps order id to whether it should be approved.

    An order that should be approved may end REJECTED only if its saga's history shows an operator
    compensating it, or a give-up on a step whose participant an injected fault had stopped
    (``excused``). An order that should not be approved never is.
    """
    status_of = {order["id"]: order["status"] for order in state.orders}
    interventions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in state.interventions:
        interventions[event["order_id"]].append(event)
    violations = []
    for order_id, approve in intended.items():
        status = status_of.get(order_id)
        if not approve and status == "APPROVED":
            violations.append(f"order {order_id} was approved, though it could not be")
        if approve and status == "REJECTED" and not _explained(interventions[order_id], excused):
            violations.append(f"order {order_id} was rejected with nothing injected to explain it")
    return violations


def _explained(events: Iterable[dict[str, Any]], excused: Excused) -> bool:
    for event in events:
        if event["event"] == "OperatorCompensate":
            return True
        step = str(event["detail"]).partition(":")[0]  # "authorize_payment: no reply to 3 attempts"
        if event["event"] == "StepTimedOut" and excused(step, event["at"]):
            return True
    return False
