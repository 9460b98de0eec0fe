"""A steady load of orders for the chaos suite: approvals, declines and shipping rejections.

Every order is posted with an Idempotency-Key and retried with the same key until the service
answers 201 (or the retry budget runs out), so an order either is acknowledged once or not at all.
The acknowledged orders are what the checker requires to be decided.
"""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from e2e.client import SystemClient
from saga_client import ShopClientError

# What the order should end as, when nothing gives up on it.
APPROVE, DECLINE, SHIP_REJECT = "approve", "decline", "ship-reject"
MIX = ((APPROVE, 0.7), (DECLINE, 0.15), (SHIP_REJECT, 0.15))
RICH, BROKE = "chaos-rich", "chaos-broke"  # BROKE never gets an account


@dataclass
class LoadResult:
    acknowledged: dict[str, str] = field(default_factory=dict)  # order id -> kind
    unacknowledged: int = 0
    retries: int = 0


class OrderLoad:
    """Orders at a steady rate; ``orders`` is what the run offers at least (the chaos run keeps the
    load on until its last fault is done, because crash points need traffic to be reached)."""

    def __init__(self, client: SystemClient, *, orders: int, rate: float, seed: int) -> None:
        self.client, self.orders, self.rate = client, orders, rate
        self.random = random.Random(seed)
        self.offered = 0
        self.result = LoadResult()
        self._lock = threading.Lock()

    def prepare(self) -> None:
        self.client.open_account(RICH, "1000000000.00")

    def run(self, stop: threading.Event) -> LoadResult:
        """Offer orders at ``rate`` per second (open loop) until ``stop``; then wait for the answers."""
        kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            while not stop.wait(max(0.0, started + self.offered / self.rate - time.monotonic())):
                pool.submit(self._place, self.random.choices(kinds, weights)[0])
                self.offered += 1
        return self.result

    def _place(self, kind: str) -> None:
        customer = BROKE if kind == DECLINE else RICH
        country = "AQ" if kind == SHIP_REJECT else "DE"
        key = uuid.uuid4().hex
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                order = self.client.place_order(customer, country=country, idempotency_key=key)
            except ShopClientError:  # not reached, or not answered in time: again, with the same key
                order = None
            if order is not None:
                with self._lock:
                    self.result.acknowledged[str(order.id)] = kind
                return
            with self._lock:
                self.result.retries += 1
            time.sleep(0.5)
        with self._lock:
            self.result.unacknowledged += 1
