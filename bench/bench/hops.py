"""Where a saga's time goes, hop by hop, read from the outbox and inbox tables a bench run left behind.

    uv run python -m bench.hops FROM TO [--server postgres://postgres@127.0.0.1:5432] [--prefix bench_]

FROM and TO (ISO times) pick a step of the run, e.g. the 10/s step's seconds. Every message a service
wrote in that window is followed to the service that received it:
- **transit** = ``received.added`` in the consumer - ``published.added`` in the producer: the rest of the
  producing transaction and its commit, the relay's pick-up, produce and acknowledgement, the broker,
  the consumer's fetch and poll, up to the start of the handling transaction;
- **handling** = ``published.added`` of a message - ``received.added`` of the message that caused it
  (its ``ce_causationid``), in the same service: the handler's work, and waiting for a CPU.
Both are read from wall clocks of one machine, so they add up to the end-to-end latency of a saga.
"""

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg2

SERVICES = ("orders", "payments", "shipping", "orchestrator")


def _rows(server: str, database: str, sql: str, window: tuple[str, str]) -> list[tuple[Any, ...]]:
    with psycopg2.connect(f"{server}/{database}") as connection, connection.cursor() as cursor:
        cursor.execute(sql, list(window))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    connection.close()
    return rows


def _short(message_type: str) -> str:
    """``sagaref.payments.AuthorizePayment.v1`` -> ``AuthorizePayment``."""
    parts = message_type.split(".")
    return parts[-2] if len(parts) >= 2 else message_type


def _key(message_id: Any) -> str:
    return str(message_id).replace("-", "")


def measure(server: str, prefix: str, window: tuple[str, str]) -> dict[str, dict[str, list[float]]]:
    """``{"transit": {hop: [ms, ...]}, "handling": {step: [ms, ...]}}``."""
    sent: dict[str, tuple[str, str, datetime, str]] = {}  # id -> (service, type, added, causation)
    received: dict[str, list[tuple[str, datetime]]] = defaultdict(list)  # id -> [(service, added)]
    for service in SERVICES:
        database = prefix + service
        published = "SELECT id, headers, added FROM published WHERE added BETWEEN %s AND %s"
        for row_id, headers, added in _rows(server, database, published, window):
            fields = headers if isinstance(headers, dict) else json.loads(headers)
            kind, cause = fields.get("ce_type", "?"), fields.get("ce_causationid", "")
            sent[_key(row_id)] = (service, _short(kind), added, _key(cause))
        inbox = "SELECT msg_id, added FROM received WHERE added BETWEEN %s AND %s"
        for message_id, added in _rows(server, database, inbox, window):
            received[_key(message_id)].append((service, added))
    transit: dict[str, list[float]] = defaultdict(list)
    handling: dict[str, list[float]] = defaultdict(list)
    types = {message_id: kind for message_id, (_, kind, _, _) in sent.items()}
    for message_id, (service, kind, added, cause) in sent.items():
        for consumer, at in received.get(message_id, []):
            transit[f"{kind}: {service} -> {consumer}"].append((at - added).total_seconds() * 1000)
        for receiver, at in received.get(cause, []):
            if receiver == service:
                step = f"{service}: {types.get(cause, '?')} -> {kind}"
                handling[step].append((added - at).total_seconds() * 1000)
    return {"transit": dict(transit), "handling": dict(handling)}


def table(title: str, figures: dict[str, list[float]]) -> Iterable[str]:
    yield f"{title:64s} {'n':>5s} {'p50 ms':>8s} {'p90 ms':>8s}"
    for name, values in sorted(figures.items(), key=lambda item: -statistics.median(item[1])):
        ordered = sorted(values)
        p90 = ordered[int(len(ordered) * 0.9)]
        yield f"{name:64s} {len(ordered):5d} {statistics.median(ordered):8.1f} {p90:8.1f}"
    every = [value for values in figures.values() for value in values]
    if every:
        yield f"{'all':64s} {len(every):5d} {statistics.median(every):8.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("start", help="from (ISO time, with its zone)")
    parser.add_argument("end", help="to (ISO time, with its zone)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--prefix", default="bench_", help="the stack's databases' prefix")
    args = parser.parse_args(argv)
    figures = measure(args.server, args.prefix, (args.start, args.end))
    for line in [*table("transit (message: from -> to)", figures["transit"]), ""]:
        print(line)
    for line in table("handling (service: received -> sent)", figures["handling"]):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
