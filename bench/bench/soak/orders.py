"""The soak's load: ``bench.load`` in back-to-back chunks (``bench.soak.feed``), so that the orders of each
chunk and their latencies are known while the run goes on, and a load process never holds half an hour
of orders in memory."""

import json
import math
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.run import decisions
from bench.soak.figures import Order

CHUNK_SECONDS = 60.0
LAUNCH_LEAD_SECONDS = 5.0  # each chunk's process starts this early, its imports done when it is due
DRAIN_SECONDS = 120.0  # after the last chunk, how long the orders still undecided may take


@dataclass
class Chunk:
    start: float  # epoch seconds when its first order is due
    seconds: float
    out: Path
    process: subprocess.Popen[bytes] | None = None
    collected: bool = False


class Feeder:
    """Offers ``rate`` orders/s from ``start`` (epoch) for ``duration`` seconds and follows them."""

    def __init__(
        self, url: str, orders_db: str, rate: float, duration: float, start: float, scratch: Path
    ) -> None:
        self.url, self.orders_db, self.rate, self.start = url, orders_db, rate, start
        count = math.ceil(duration / CHUNK_SECONDS - 1e-9)
        self.chunks = [
            Chunk(
                start + n * CHUNK_SECONDS,
                min(CHUNK_SECONDS, duration - n * CHUNK_SECONDS),
                scratch / f"load-{n}.json",
            )
            for n in range(count)
        ]
        self.orders: dict[str, Order] = {}
        self.pending: set[str] = set()
        self.totals: Counter[str] = Counter()
        self.errors_by_kind: Counter[str] = Counter()
        self.retried_by_reason: Counter[str] = Counter()

    def launch_due(self, now: float) -> None:
        for chunk in self.chunks:
            if chunk.process is None and now >= chunk.start - LAUNCH_LEAD_SECONDS:
                command = [sys.executable, "-m", "bench.soak.feed", self.url, str(self.rate)]
                command += [str(chunk.seconds), str(chunk.out), str(chunk.start)]
                chunk.process = subprocess.Popen(command)

    def next_launch(self) -> float | None:
        waiting = [c.start - LAUNCH_LEAD_SECONDS for c in self.chunks if c.process is None]
        return min(waiting, default=None)

    @property
    def collected_until(self) -> float:
        """Seconds into the run before which every order is known (its chunk's output read)."""
        until = 0.0
        for chunk in self.chunks:
            if not chunk.collected:
                break
            until = chunk.start - self.start + chunk.seconds
        return until

    def collect(self) -> None:
        """Read the output of every chunk whose process has ended."""
        for chunk in self.chunks:
            if chunk.collected or chunk.process is None or chunk.process.poll() is None:
                continue
            chunk.collected = True
            if chunk.process.returncode != 0 or not chunk.out.exists():
                self.totals["failed_load_processes"] += 1
                continue
            load = json.loads(chunk.out.read_text())
            for name in ("offered", "acknowledged", "errors"):
                self.totals[name] += load[name]
            self.errors_by_kind.update(load["errors_by_kind"])
            self.retried_by_reason.update(load["retried_by_reason"])
            for order in load["orders"]:
                self.orders[order["id"]] = Order(scheduled=round(order["scheduled"] - self.start, 3))
                self.pending.add(order["id"])

    def decide(self, timeout: float = 0.0) -> None:
        """Note the latency of the pending orders decided by now (waiting up to ``timeout`` for all)."""
        if not self.pending:
            return
        for order_id, (_, when) in decisions(self.orders_db, sorted(self.pending), timeout).items():
            order = self.orders[order_id]
            order.latency = round(when - self.start - order.scheduled, 4)
            self.pending.discard(order_id)

    def finish(self) -> None:
        """Wait for every chunk's process, then for the orders still undecided (``DRAIN_SECONDS``)."""
        for chunk in self.chunks:
            if chunk.process is not None:
                try:
                    chunk.process.wait(CHUNK_SECONDS + 60)
                except subprocess.TimeoutExpired:
                    chunk.process.kill()
                    chunk.process.wait()
        self.collect()
        self.decide(timeout=DRAIN_SECONDS)

    def stop(self) -> None:
        """End the load processes still running (on an error: they are ours)."""
        for chunk in self.chunks:
            if chunk.process is not None and chunk.process.poll() is None:
                chunk.process.terminate()
                chunk.process.wait(10)

    @property
    def load(self) -> dict[str, Any]:
        return {
            "offered": self.totals["offered"],
            "acknowledged": self.totals["acknowledged"],
            "errors": self.totals["errors"],
            "errors_by_kind": dict(self.errors_by_kind),
            "retried_by_reason": dict(self.retried_by_reason),
            "failed_load_processes": self.totals["failed_load_processes"],
            "undecided": len(self.pending),
            "chunks": len(self.chunks),
        }
