"""Which broker a local run uses: Apache Kafka, or Tansu with ``BROKER=tansu`` (docs/kafka.md says when)."""

import os

KINDS = ("kafka", "tansu")


def kind() -> str:
    chosen = os.environ.get("BROKER", "kafka")
    if chosen not in KINDS:
        raise RuntimeError(f"BROKER={chosen!r}: choose one of {', '.join(KINDS)}")
    return chosen


def client_settings() -> dict[str, str]:
    """What the services' settings must say on this kind of broker (the environment may still say
    otherwise). Tansu holds every fetch for its whole wait, so there the wait is a hop's latency and
    stays at 20 ms; Apache Kafka answers a held fetch as soon as a record arrives (settings.py,
    KAFKA_FETCH_WAIT_MAX_MS)."""
    return {"KAFKA_FETCH_WAIT_MAX_MS": "20"} if kind() == "tansu" else {}
