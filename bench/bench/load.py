"""The load process: offer orders at a fixed rate (open loop), whatever the answers take.

Run as ``python -m bench.load URL RATE SECONDS OUT.json``: a separate process, so the load's own CPU
is not the system's. Each order is one of the saga's outcomes (approve, decline, shipping rejection)
in a fixed mix; the file lists the ids the service acknowledged (201), with their kind, and counts
every other answer by what it was (``ERROR_KINDS``), so that offered = acknowledged + errors. Every
time the client sent a POST again with its Idempotency-Key (a connection reset, a 503) is counted by
why (``retried_by_reason``), whether that POST was acknowledged in the end or not: worth seeing.
"""

import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx

from devstack.local_keys import jwt_signing_key
from saga_client import OrderItem, OrderRequest, ShippingAddress, ShopClient
from saga_client.errors import ApiError, ServiceUnavailable, UnexpectedResponse
from saga_common.web.tokens import CUSTOMER, mint_token

MIX = (("approve", 0.8), ("decline", 0.1), ("ship-reject", 0.1))
RICH, BROKE = "bench-rich", "bench-broke"
# What a POST that was not acknowledged ended in: an error status from the service (``http_status``),
# the client's timeout (30 s) or a connection refused or reset (``timeout``, ``connection``: the order
# may exist, unseen), a success whose body the client could not read (``unreadable``), or anything else
# raised in this process (``other``: a bug here, counted rather than lost in the thread pool).
ERROR_KINDS = ("http_status", "timeout", "connection", "unreadable", "other")


def error_kind(error: Exception) -> str:
    if isinstance(error, ApiError):
        return "http_status"
    if isinstance(error, ServiceUnavailable):
        return "timeout" if isinstance(error.__cause__, httpx.TimeoutException) else "connection"
    if isinstance(error, UnexpectedResponse):
        return "unreadable"
    return "other"


class RetryCounter(logging.Handler):
    """Counts the client's "sending it again" warnings (saga_client.sending) by their reason."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        reason = getattr(record, "retry_reason", None)
        if reason is not None:
            self.reasons[reason] += 1  # Counter += under the handler's own lock (Handler.handle)


def body(kind: str) -> OrderRequest:
    return OrderRequest(
        currency="EUR",
        items=(OrderItem(sku="SKU-1", quantity=1, unit_price=Decimal("1.00")),),
        shipping_address=ShippingAddress(
            name="Bench",
            line1="1 Main St",
            city="Berlin",
            postal_code="10115",
            country="AQ" if kind == "ship-reject" else "DE",
        ),
    )


def main(url: str, rate: float, seconds: float, out: Path) -> None:
    tokens = {c: mint_token(jwt_signing_key(), c, [CUSTOMER], lifetime_seconds=3600) for c in (RICH, BROKE)}
    local = threading.local()
    accepted: list[dict[str, object]] = []
    errors: Counter[str] = Counter()
    statuses: Counter[str] = Counter()  # the error statuses (http_status), e.g. {"503": 2}
    lock = threading.Lock()
    retries = RetryCounter()
    logging.getLogger("saga_client").addHandler(retries)

    def clients() -> dict[str, ShopClient]:
        """This thread's clients, one per customer over one connection pool (as a session each was)."""
        mine: dict[str, ShopClient] | None = getattr(local, "clients", None)
        if mine is None:
            shop = ShopClient({"orders": url}, timeout=30)
            mine = local.clients = {customer: shop.with_token(token) for customer, token in tokens.items()}
        return mine

    def post(kind: str, scheduled: float) -> None:
        customer = BROKE if kind == "decline" else RICH
        try:
            order = clients()[customer].place_order(body(kind))
        except Exception as error:  # every one is counted, by kind (ERROR_KINDS)
            with lock:
                errors[error_kind(error)] += 1
                if isinstance(error, ApiError):
                    statuses[str(error.status)] += 1
            return
        with lock:
            # the time it was due to be sent: latency counts any wait in this process too
            accepted.append({"id": str(order.id), "kind": kind, "scheduled": scheduled})

    rng = random.Random(1)
    kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
    total = int(rate * seconds)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(64) as pool:
            for number in range(total):
                due = started + number / rate
                time.sleep(max(0.0, due - time.monotonic()))
                pool.submit(post, rng.choices(kinds, weights)[0], time.time() - (time.monotonic() - due))
            offered_for = time.monotonic() - started
    finally:
        logging.getLogger("saga_client").removeHandler(retries)
    out.write_text(
        json.dumps(
            {
                "offered": total,
                "offered_seconds": offered_for,
                "acknowledged": len(accepted),
                "errors": sum(errors.values()),
                "errors_by_kind": {kind: errors[kind] for kind in ERROR_KINDS},
                "error_statuses": dict(sorted(statuses.items())),
                "retried_by_reason": dict(sorted(retries.reasons.items())),
                "orders": accepted,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
