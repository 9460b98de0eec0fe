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
    "orders": ["SELECT id::text, status, total, currency FROM orders_order"],
    "payments": [
        "SELECT order_id, customer_id, status, amount, currency FROM payments_payment",
        "SELECT customer_id, credit_limit, held FROM payments_account",
    ],
    "shipments": ["SELECT order_id, status FROM shipping_shipment"],
    "sagas": [
        "SELECT order_id, state FROM saga_instance",
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


def check(state: Snapshot) -> list[str]:
    """Return a description of every broken invariant (empty when the system is consistent)."""
    violations: list[str] = []
    payments = defaultdict(list)
    for payment in state.payments:
        payments[payment["order_id"]].append(payment)
    shipments = defaultdict(list)
    for shipment in state.shipments:
        shipments[shipment["order_id"]].append(shipment)
    sagas = defaultdict(list)
    for saga in state.sagas:
        sagas[saga["order_id"]].append(saga)

    captured_total: dict[str, Decimal] = defaultdict(Decimal)
    approved_total: dict[str, Decimal] = defaultdict(Decimal)
    for order in state.orders:
        order_id, status = order["id"], order["status"]
        its_sagas = sagas.pop(order_id, [])
        if len(its_sagas) != 1:
            violations.append(f"order {order_id} has {len(its_sagas)} sagas")
            continue
        expected = {"APPROVED": "COMPLETED", "REJECTED": "COMPENSATED"}.get(status)
        if expected is None:
            violations.append(f"order {order_id} is still {status} (saga {its_sagas[0]['state']})")
            continue
        if its_sagas[0]["state"] != expected:
            violations.append(f"order {order_id} is {status} but its saga is {its_sagas[0]['state']}")
        statuses = [p["status"] for p in payments[order_id]]
        scheduled = [s for s in shipments[order_id] if s["status"] == "SCHEDULED"]
        if status == "APPROVED":
            approved_total[order["currency"]] += Decimal(order["total"])
            captured = [p for p in payments[order_id] if p["status"] == "CAPTURED"]
            if len(captured) != 1 or Decimal(captured[0]["amount"]) != Decimal(order["total"]):
                violations.append(
                    f"approved order {order_id} has payments {statuses}, not one capture of the total"
                )
            if len(scheduled) != 1:
                violations.append(f"approved order {order_id} has {len(scheduled)} scheduled shipments")
        else:
            held = [s for s in statuses if s in ("AUTHORIZED", "CAPTURED")]
            if held:
                violations.append(f"rejected order {order_id} still holds money: {held}")
            if scheduled:
                violations.append(f"rejected order {order_id} has a scheduled shipment")
    for payment in state.payments:
        if payment["status"] == "CAPTURED":
            captured_total[payment["currency"]] += Decimal(payment["amount"])
    if captured_total != approved_total:
        violations.append(f"captured {dict(captured_total)} != approved {dict(approved_total)}")
    for order_id in sagas:
        violations.append(f"saga for unknown order {order_id}")
    for service, count in state.unpublished.items():
        if count:
            violations.append(f"{service} has {count} unpublished outbox rows")
    violations += _check_effects(state, payments, shipments)
    violations += _check_accounts(state)
    return violations


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
