"""The invariants of DESIGN.md, checked across all four databases.

``snapshot`` reads the rows; ``check`` is pure and returns every violation it finds, so it can be
tested on hand-made rows and reused by any suite that needs to know the system is consistent.
"""

from collections import defaultdict
from dataclasses import dataclass, field
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


QUERIES = {
    "orders": "SELECT id::text, status, total, currency FROM orders_order",
    "payments": "SELECT order_id, customer_id, status, amount, currency FROM payments_payment",
    "shipments": "SELECT order_id, status FROM shipping_shipment",
    "sagas": "SELECT order_id, state FROM saga_instance",
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
            cursor.execute(QUERIES[table])
            setattr(result, table, [dict(row) for row in cursor.fetchall()])
            cursor.execute("SELECT count(*) AS n FROM published WHERE status = 1")
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
    return violations
