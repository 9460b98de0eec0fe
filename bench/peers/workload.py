"""The PlaceOrder work every peer does, as SQL on one database of its own.

The same steps and outcomes as our saga (docs/saga.md): an order is created PENDING; a payment is
authorized against the customer's credit (declined without an account or enough credit: the order is
REJECTED); a shipment is scheduled (refused for a country we do not ship to: the payment is released
and the order REJECTED); the payment is captured; the order is APPROVED. ``orders.updated_at`` is set at
the decision, which is when the bench reads it, as it reads ours.

Each step is written to be run again safely (Temporal's activities are at least once; DBOS's
transactions record their output in the same transaction, so they are not run again after a commit):
a step that finds its row already written returns what was decided then.

``execute(sql, params)`` runs one statement in the step's transaction and returns its rows (the DBOS
peer passes its SQLAlchemy session's connection, the Temporal peer a psycopg2 cursor): both drivers take
the ``%(name)s`` parameter style.
"""

from collections.abc import Callable, Sequence
from typing import Any

Execute = Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]]

APPROVED, REJECTED, PENDING = "APPROVED", "REJECTED", "PENDING"
REFUSED_COUNTRIES = frozenset({"AQ"})  # as our shipping service (the bench's "ship-reject" orders)

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY,
    customer text NOT NULL,
    total numeric(14, 2) NOT NULL,
    country text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS accounts (
    customer text PRIMARY KEY,
    available numeric(14, 2) NOT NULL CHECK (available >= 0)
);
CREATE TABLE IF NOT EXISTS payments (
    order_id uuid PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(14, 2) NOT NULL,
    status text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS shipments (
    order_id uuid PRIMARY KEY,
    country text NOT NULL,
    status text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


def open_account(execute: Execute, customer: str, credit: str) -> None:
    execute(
        "INSERT INTO accounts (customer, available) VALUES (%(customer)s, %(credit)s) "
        "ON CONFLICT (customer) DO UPDATE SET available = EXCLUDED.available",
        {"customer": customer, "credit": credit},
    )


def create_order(execute: Execute, order_id: str, customer: str, total: str, country: str) -> None:
    execute(
        "INSERT INTO orders (id, customer, total, country, status) "
        "VALUES (%(id)s, %(customer)s, %(total)s, %(country)s, 'PENDING') ON CONFLICT (id) DO NOTHING",
        {"id": order_id, "customer": customer, "total": total, "country": country},
    )


def authorize_payment(execute: Execute, order_id: str, customer: str, total: str) -> bool:
    """Hold ``total`` of the customer's credit; False (a DECLINED payment) without enough."""
    params = {"id": order_id, "customer": customer, "total": total}
    claimed = execute(
        "INSERT INTO payments (order_id, customer, amount, status) "
        "VALUES (%(id)s, %(customer)s, %(total)s, 'NEW') "
        "ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
        params,
    )
    if not claimed:  # run again after it committed: what it decided then
        rows = execute("SELECT status FROM payments WHERE order_id = %(id)s", params)
        return rows[0][0] in ("AUTHORIZED", "CAPTURED")
    debited = execute(
        "UPDATE accounts SET available = available - %(total)s "
        "WHERE customer = %(customer)s AND available >= %(total)s RETURNING customer",
        params,
    )
    execute(
        "UPDATE payments SET status = %(status)s, updated_at = now() WHERE order_id = %(id)s",
        params | {"status": "AUTHORIZED" if debited else "DECLINED"},
    )
    return bool(debited)


def schedule_shipment(execute: Execute, order_id: str, country: str) -> bool:
    """Schedule the shipment; False (a REJECTED shipment) for a country we do not ship to."""
    status = "REJECTED" if country in REFUSED_COUNTRIES else "SCHEDULED"
    execute(
        "INSERT INTO shipments (order_id, country, status) VALUES (%(id)s, %(country)s, %(status)s) "
        "ON CONFLICT (order_id) DO NOTHING",
        {"id": order_id, "country": country, "status": status},
    )
    rows = execute("SELECT status FROM shipments WHERE order_id = %(id)s", {"id": order_id})
    return bool(rows[0][0] == "SCHEDULED")


def release_payment(execute: Execute, order_id: str) -> None:
    """The compensation of ``authorize_payment``: give the credit back (once)."""
    released = execute(
        "UPDATE payments SET status = 'RELEASED', updated_at = now() "
        "WHERE order_id = %(id)s AND status = 'AUTHORIZED' RETURNING customer, amount",
        {"id": order_id},
    )
    for customer, amount in released:
        execute(
            "UPDATE accounts SET available = available + %(amount)s WHERE customer = %(customer)s",
            {"customer": customer, "amount": amount},
        )


def capture_payment(execute: Execute, order_id: str) -> None:
    execute(
        "UPDATE payments SET status = 'CAPTURED', updated_at = now() "
        "WHERE order_id = %(id)s AND status = 'AUTHORIZED'",
        {"id": order_id},
    )


def decide(execute: Execute, order_id: str, status: str) -> None:
    execute(
        "UPDATE orders SET status = %(status)s, updated_at = now() WHERE id = %(id)s AND status = 'PENDING'",
        {"id": order_id, "status": status},
    )
