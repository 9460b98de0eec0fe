"""Which broker a local run uses: Apache Kafka, or Tansu with ``BROKER=tansu`` (docs/kafka.md says when)."""

import os

KINDS = ("kafka", "tansu")


def kind() -> str:
    chosen = os.environ.get("BROKER", "kafka")
    if chosen not in KINDS:
        raise RuntimeError(f"BROKER={chosen!r}: choose one of {', '.join(KINDS)}")
    return chosen
