"""The load process for a peer: orders offered at a fixed rate (open loop), as ``bench.load`` offers ours.

    python -m peers.load dbos|temporal TARGET RATE SECONDS OUT.json

The same mix of outcomes (approve, decline, shipping rejection) from the same seed and the same output
(``offered``, ``acknowledged``, ``errors`` by kind, the orders with when each was due to be sent), so
``bench.run`` reads a peer's step as it reads ours. An order is acknowledged when the peer has
durably started its workflow: DBOS's HTTP front answered 201; Temporal's server accepted the
workflow start. TARGET is the DBOS front's URL or the Temporal frontend's HOST:PORT.
"""

import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.load import BROKE, MIX, RICH
from peers.temporal_peer import NAMESPACE
from peers.temporal_workflow import TASK_QUEUE, Order, PlaceOrder

TOTAL = "1.00"  # bench.load's order: one item at 1.00


def order(kind: str) -> Order:
    customer = BROKE if kind == "decline" else RICH
    return Order(str(uuid.uuid4()), customer, TOTAL, "AQ" if kind == "ship-reject" else "DE")


async def starter(
    peer: str, target: str
) -> tuple[Callable[[Order], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """``start(order)`` for the peer (raises unless the peer acknowledged it), and ``close()``."""
    if peer == "dbos":
        http = httpx.AsyncClient(base_url=target, timeout=30, limits=httpx.Limits(max_connections=64))

        async def start_dbos(o: Order) -> None:
            response = await http.post("/orders", json=o.__dict__)
            if response.status_code != 201:
                raise RuntimeError(f"status {response.status_code}")

        return start_dbos, http.aclose
    client = await Client.connect(target, namespace=NAMESPACE)

    async def start_temporal(o: Order) -> None:
        await client.start_workflow(PlaceOrder.run, o, id=o.id, task_queue=TASK_QUEUE)

    async def nothing() -> None:
        pass

    return start_temporal, nothing


def error_kind(error: Exception) -> str:
    if isinstance(error, RuntimeError) and str(error).startswith("status "):
        return "http_status"
    if isinstance(error, httpx.TimeoutException | asyncio.TimeoutError):
        return "timeout"
    if isinstance(error, httpx.TransportError):
        return "connection"
    return "other"


async def offer(peer: str, target: str, rate: float, seconds: float) -> dict[str, Any]:
    start, close = await starter(peer, target)
    accepted: list[dict[str, object]] = []
    errors: Counter[str] = Counter()

    async def send(kind: str, scheduled: float) -> None:
        o = order(kind)
        try:
            await asyncio.wait_for(start(o), timeout=30)
        except Exception as error:  # every one is counted, by kind
            errors[error_kind(error)] += 1
            return
        accepted.append({"id": o.id, "kind": kind, "scheduled": scheduled})

    rng = random.Random(1)
    kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
    total = int(rate * seconds)
    started = time.monotonic()
    tasks = []
    for number in range(total):
        due = started + number / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        scheduled = time.time() - (time.monotonic() - due)
        tasks.append(asyncio.create_task(send(rng.choices(kinds, weights)[0], scheduled)))
    offered_for = time.monotonic() - started
    await asyncio.gather(*tasks)
    await close()
    return {
        "offered": total,
        "offered_seconds": offered_for,
        "acknowledged": len(accepted),
        "errors": sum(errors.values()),
        "errors_by_kind": {kind: errors[kind] for kind in ("http_status", "timeout", "connection", "other")},
        "error_statuses": {},
        "retried_by_reason": {},  # a peer's client never sends an order twice
        "orders": accepted,
    }


def main(peer: str, target: str, rate: float, seconds: float, out: Path) -> None:
    out.write_text(json.dumps(asyncio.run(offer(peer, target, rate, seconds))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
