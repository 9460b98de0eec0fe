"""What happens to approved orders in the chaos runs: customers cancel some, the warehouse dispatches
some, and for some both happen at once (a cancellation racing a dispatch).

Each action is retried with the same Idempotency-Key until a service answers (a fault may have it
down); what was acknowledged is the intent the checker holds the end state to
(``check_after_sale``): a cancellation acknowledged for an order that was never dispatched ends
CANCELLED; an acknowledged dispatch keeps the order APPROVED with its shipment DISPATCHED; a race ends
either way, and the invariants (e2e.invariants) say each way must be whole.
"""

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from e2e.client import SystemClient
from saga_client import ApiError, ShopClientError

CANCEL, DISPATCH, RACE = "cancel", "dispatch", "race"
MIX = ((CANCEL, 0.5), (DISPATCH, 0.3), (RACE, 0.2))
RETRY_FOR_SECONDS = 90.0  # outlasts every fault of the profiles (a stop of 12 s, two nodes down 20 s)


@dataclass
class AfterSaleResult:
    intended: dict[str, str] = field(default_factory=dict)  # order id -> cancel, dispatch or race
    acknowledged: dict[str, set[str]] = field(default_factory=dict)  # order id -> {"cancel", "dispatch"}
    outcomes: Counter[str] = field(default_factory=Counter)


class AfterSale:
    """Every ``interval`` seconds, one approved order the load placed gets an after-sale action."""

    def __init__(
        self, client: SystemClient, orders: dict[str, str], *, seed: int, interval: float = 0.5
    ) -> None:
        self.client, self.orders, self.interval = client, orders, interval  # orders: the load's, live
        self.random = random.Random(seed)
        self.result = AfterSaleResult()
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> AfterSaleResult:
        kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
        with ThreadPoolExecutor(8) as pool:
            while not stop.wait(self.interval):
                order_id = self._approved_order()
                if order_id is None:
                    continue
                kind = self.random.choices(kinds, weights)[0]
                with self._lock:
                    self.result.intended[order_id] = kind
                if kind in (CANCEL, RACE):
                    pool.submit(self._cancel, order_id)
                if kind in (DISPATCH, RACE):
                    pool.submit(self._dispatch, order_id)
        return self.result

    def _approved_order(self) -> str | None:
        """An order of the load's that is APPROVED with its shipment released, not acted on before."""
        # The load's threads add to its dict under the load's lock, not this one: copy it first (one
        # step under the GIL) rather than iterate it while it grows.
        placed = self.orders.copy()
        with self._lock:
            candidates = [
                o for o, kind in placed.items() if kind == "approve" and o not in self.result.intended
            ]
        for order_id in self.random.sample(candidates, min(len(candidates), 5)):
            try:
                order = self.client.order(order_id)
                shipments = self.client.shipments(order_id) if order.status == "APPROVED" else []
            except ShopClientError:
                return None  # a fault has a service down: try later
            if shipments and shipments[0].status == "SCHEDULED" and shipments[0].released:
                return order_id
        return None

    def _cancel(self, order_id: str) -> None:
        key = uuid.uuid4().hex
        self._until_answered(
            order_id,
            "cancel",
            lambda: self.client.cancel(self.client.order(order_id), reason="chaos", idempotency_key=key),
        )

    def _dispatch(self, order_id: str) -> None:
        self._until_answered(order_id, "dispatch", lambda: self.client.dispatch(order_id))

    def _until_answered(self, order_id: str, action: str, call: Any) -> None:
        """``call()`` until a service answers: acknowledged (2xx) or refused (409: the race was lost)."""
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while time.monotonic() < deadline:
            try:
                call()
            except ApiError as exc:
                if exc.status == 409:
                    self._count(f"{action} refused")
                    return
                self._count(f"{action} answered {exc.status}, retried")
            except ShopClientError:
                self._count(f"{action} not reached, retried")
            else:
                with self._lock:
                    self.result.acknowledged.setdefault(order_id, set()).add(action)
                self._count(f"{action} acknowledged")
                return
            time.sleep(0.5)
        self._count(f"{action} never answered")

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.result.outcomes[outcome] += 1


def check_after_sale(
    status_of: dict[str, str], shipment_of: dict[str, str], result: AfterSaleResult
) -> list[str]:
    """Acknowledged actions end as they must: a cancellation without a dispatch ends CANCELLED, a
    dispatch keeps the order APPROVED with its shipment DISPATCHED."""
    violations = []
    for order_id, done in result.acknowledged.items():
        status, shipment = status_of.get(order_id), shipment_of.get(order_id)
        if done == {"cancel"} and status != "CANCELLED":
            violations.append(f"order {order_id}: its cancellation was acknowledged, yet it is {status}")
        if "dispatch" in done and (status, shipment) != ("APPROVED", "DISPATCHED"):
            violations.append(
                f"order {order_id} was dispatched, yet it is {status} with its shipment {shipment}"
            )
    return violations
