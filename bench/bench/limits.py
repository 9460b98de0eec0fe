"""The machine's limits, measured in the same run as the system: PostgreSQL commits per second
(pgbench -N, no vacuum, 8 clients) and the broker's raw produce + consume rate with a bare
confluent-kafka loop (the same client settings the relay and consumers use: idempotent, acks=all)."""

import re
import subprocess
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import broker_auth


def pgbench_commits_per_second(admin_url: str, seconds: int = 15) -> float:
    """Initialise a scratch database and run pgbench -N; return transactions (commits) per second."""
    database = "bench_pgbench"
    server = admin_url.rsplit("/", 1)[0]
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {database}"], check=True)
    target = f"{server}/{database}"
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", target], check=True, capture_output=True)
    result = subprocess.run(
        ["pgbench", "-N", "-n", "-c", "8", "-j", "2", "-T", str(seconds), target],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps: {result.stdout}")
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE {database}"], check=True)
    return float(match.group(1))


def kafka_round_trip_rate(bootstrap: str, messages: int = 50_000, size: int = 400) -> dict[str, Any]:
    """Produce ``messages`` of ``size`` bytes (keyed, like ours), then consume them; rates per second."""
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(broker_auth.client_config(bootstrap))  # kept: a dropped client cancels its calls
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result()
    producer = Producer(
        {**broker_auth.client_config(bootstrap), "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )
    payload = b"x" * size
    started = time.perf_counter()
    for number in range(messages):
        while True:
            try:
                producer.produce(topic, payload, key=str(number % 1000).encode())
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    produced_in = time.perf_counter() - started
    consumer = Consumer(
        {
            **broker_auth.client_config(bootstrap),
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    assigned: list[float] = []  # timed from the assignment: joining the group is not consuming
    consumer.subscribe([topic], on_assign=lambda _consumer, _partitions: assigned.append(time.perf_counter()))
    received = 0
    deadline = time.perf_counter() + 120
    while received < messages and time.perf_counter() < deadline:
        received += sum(1 for m in consumer.consume(1000, timeout=0.5) if m.error() is None)
    consumed_in = time.perf_counter() - (assigned[0] if assigned else deadline - 120)
    consumer.close()
    return {
        "messages": messages,
        "produce_per_s": messages / produced_in,
        "consume_per_s": received / consumed_in,
        "consumed": received,
    }
