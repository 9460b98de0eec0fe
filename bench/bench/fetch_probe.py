"""A record's produce-to-consume latency at a low rate, by consumer setting, on the real broker.

    uv run devstack with-services -- python -m bench.fetch_probe [VARIANT ...]

What it showed (docs/benchmarks.md, "What stood in the way at low load"): a broker answers one request
of a connection at a time, so anything a consumer asks on its own connection waits behind its held
fetch. Each variant: four topics of eight partitions, a consumer subscribed to all of them (as a
worker is), a producer with the relay's settings, 60 records one every 100 ms to random partitions.
``ends`` variants also ask where every partition ends once a second, as the consumer's progress
check does: ``same`` on the consumer itself, one partition at a time (as before 2026-12-07), ``probe``
on a client of its own, all partitions in one request (``saga_common.messaging.offsets``).
"""

import os
import random
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import broker_auth

TOPICS, PARTITIONS, RECORDS, GAP_S = 4, 8, 60, 0.1
VARIANTS: dict[str, tuple[int, str | None]] = {  # name: (fetch.wait.max.ms, how ends are asked)
    "wait20": (20, None),
    "wait500": (500, None),
    "wait20-ends-same": (20, "same"),
    "wait20-ends-probe": (20, "probe"),
    "wait500-ends-same": (500, "same"),
    "wait500-ends-probe": (500, "probe"),
}


def _topics(config: dict[str, Any]) -> list[str]:
    names = [f"fetch-probe-{uuid.uuid4().hex[:8]}-{i}" for i in range(TOPICS)]
    created = AdminClient(config).create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    for future in created.values():
        future.result()
    time.sleep(2)  # the new partitions' leaders known everywhere
    return names


def measure(config: dict[str, Any], wait_ms: int, ends: str | None) -> list[float]:
    """Milliseconds from each produce to its record's arrival in the consumer's poll."""
    names = _topics(config)
    group = f"fetch-probe-{uuid.uuid4()}"
    consumer = Consumer(
        {**config, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "latest"}
        | {"fetch.wait.max.ms": wait_ms}
    )
    probe = Consumer({**config, "group.id": group}) if ends == "probe" else None
    consumer.subscribe(names)
    while not consumer.assignment():
        consumer.poll(0.1)
    time.sleep(1)
    producer = Producer({**config, "enable.idempotence": True, "acks": "all", "linger.ms": 1})
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    stop = threading.Event()
    every = [TopicPartition(t, p) for t in names for p in range(PARTITIONS)]

    def consume() -> None:
        last_check = 0.0
        while not stop.is_set():
            if ends is not None and time.monotonic() - last_check >= 1.0:
                last_check = time.monotonic()
                if probe is None:
                    for tp in every:
                        consumer.get_watermark_offsets(tp, timeout=5.0)
                else:
                    probe.offsets_for_times([TopicPartition(tp.topic, tp.partition, -1) for tp in every], 5.0)
            message = consumer.poll(0.2)
            if message is not None and message.error() is None and message.key() in sent:
                latencies.append((time.monotonic() - sent[message.key() or b""]) * 1000)

    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(RECORDS):
        key = str(i).encode()
        sent[key] = time.monotonic()
        producer.produce(
            random.choice(names), key=key, value=b"x" * 300, partition=random.randrange(PARTITIONS)
        )
        producer.flush()
        time.sleep(GAP_S)
    time.sleep(3)
    stop.set()
    thread.join()
    consumer.close()
    if probe is not None:
        probe.close()
    return sorted(latencies)


def main(argv: list[str]) -> int:
    config = broker_auth.client_config(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    for name in argv or list(VARIANTS):
        got = measure(config, *VARIANTS[name])
        if not got:
            print(f"{name:20s} nothing arrived")
            continue
        print(
            f"{name:20s} n={len(got):3d}/{RECORDS} p50={statistics.median(got):7.1f} ms"
            f"  p90={got[int(len(got) * 0.9)]:7.1f}  max={got[-1]:7.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
