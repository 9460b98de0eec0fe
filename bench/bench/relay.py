"""The relay benchmark: our outbox relay (to Kafka) and django-outbox-pattern's own ``publish`` command
(to RabbitMQ over STOMP), side by side in one run, on the same rows of the same ``published`` table.

For each publisher, as its own process:
1. **Latency**: rows are committed one per transaction at a steady rate while a subscriber on the
   broker notes when each arrives; commit-to-arrival is the latency (it includes the subscriber's
   delivery, the same for both).
2. **Throughput**: N rows committed at once (one ``INSERT ... SELECT``), then the time until none is
   left scheduled: messages per second.

The two do not promise the same thing, and the report says so: our relay marks a row only after the
broker acknowledged it; the library's publisher sends STOMP frames without receipts and marks each row
as sent.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import psycopg2
import stomp  # type: ignore[import-untyped]
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import broker_auth, postgres
from devstack.broker import client_env, describe, free_port, start_broker, stop_broker
from devstack.local_keys import local_keys
from devstack.services import REPO_ROOT, SERVICES

RUN_DIR = REPO_ROOT / ".run"
STOMP_PORT = 61613
SCHEDULED, SUCCEEDED = 1, 2  # django_outbox_pattern.choices.StatusChoice
DATABASE = "bench_relay"
# The service whose settings (and migrations) the relays run with; any service has the same table.
SERVICE = next(s for s in SERVICES if s.name == "payments")

# A realistic outbox row (an AuthorizePayment as a CloudEvent: the payload as the body, the attributes
# as headers, the order id as the Kafka key), as saga_common.messaging.outbox writes it.
_INSERT_ROWS = """
    INSERT INTO published (id, destination, body, headers, added, expires_at, retry, status)
    SELECT ids.id, %(destination)s,
           jsonb_build_object('customer_id', 'bench-rich', 'amount', '42.00', 'currency', 'EUR'),
           jsonb_build_object(
               'ce_specversion', '1.0', 'ce_id', ids.id::text, 'ce_source', '/orchestrator',
               'ce_type', 'sagaref.payments.AuthorizePayment.v1', 'ce_time', now()::text,
               'ce_sagaid', gen_random_uuid()::text, 'ce_correlationid', gen_random_uuid()::text,
               'ce_causationid', gen_random_uuid()::text, 'content-type', 'application/json',
               'traceparent', '00-' || md5(ids.id::text) || '-' || left(md5(now()::text), 16) || '-01',
               'partitionkey', gen_random_uuid()::text),
           now(), now() + interval '1 day', 0, %(scheduled)s
    FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, %(count)s)) AS ids
    RETURNING id::text
"""


@dataclass
class Publisher:
    """One outbox publisher under test: how to start it, where it sends, how to watch arrivals."""

    name: str
    command: list[str]
    env: dict[str, str]
    destination: str
    subscribe: Callable[[dict[str, float]], Callable[[], None]]  # records id -> arrival; returns stop


def ensure_rabbitmq_stomp() -> bool:
    """Make sure RabbitMQ answers STOMP on 61613: install Debian's, start it, enable the plugin.
    True if it started the node (the caller stops it: an idle RabbitMQ left running costs a few
    percent of a core in whatever the bench measures next, the peers)."""
    if _port_open(STOMP_PORT):
        return False
    started = False
    if not shutil.which("rabbitmq-server"):
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "rabbitmq-server"], check=True)
    if not _port_open(5672):
        subprocess.run(["rabbitmq-server", "-detached"], check=True)
        started = True
        # -detached returns before the node has even registered with epmd, and `rabbitmqctl
        # await_startup` then fails at once ("node 'rabbit' not running at all": a fresh machine,
        # 2026-12-06): wait for its AMQP port first.
        deadline = time.monotonic() + 120
        while not _port_open(5672):
            if time.monotonic() > deadline:
                raise RuntimeError("RabbitMQ did not answer on 5672 within 120 s")
            time.sleep(0.5)
        subprocess.run(["rabbitmqctl", "await_startup"], check=True, timeout=120)
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_stomp"], check=True, capture_output=True)
    deadline = time.monotonic() + 60
    while not _port_open(STOMP_PORT):
        if time.monotonic() > deadline:
            raise RuntimeError("RabbitMQ's STOMP plugin does not answer on 61613")
        time.sleep(0.5)
    return started


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def fresh_database(server_url: str) -> str:
    """A new scratch database with the ``published`` table; return its URL."""
    admin = f"{server_url}/postgres"
    postgres.drop_databases([DATABASE], admin)
    postgres.ensure_databases([DATABASE], admin)
    url = f"{server_url}/{DATABASE}"
    subprocess.run(  # saga_common's migrations: the outbox table and the trigger that wakes our relay
        [sys.executable, str(SERVICE.manage_py), "migrate", "-v0", "saga_common"],
        cwd=SERVICE.directory,
        env=_env(url),
        check=True,
    )
    return url


def _env(database_url: str, **extra: str) -> dict[str, str]:
    quiet = {"LOG_FORMAT": "plain", "LOG_LEVEL": "WARNING"}
    # The worker runs without debug mode, where the development keys are refused: this checkout's.
    return {**os.environ, **local_keys(), **client_env(), "DATABASE_URL": database_url, **quiet, **extra}


def insert_rows(url: str, destination: str, count: int) -> tuple[list[str], float]:
    """Commit ``count`` scheduled rows in one transaction; return their ids and the commit time."""
    with psycopg2.connect(url) as connection:
        inserted = _insert(connection, destination, count)
    connection.close()
    return inserted


def _insert(connection: Any, destination: str, count: int) -> tuple[list[str], float]:
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ROWS, {"destination": destination, "count": count, "scheduled": SCHEDULED})
        ids = [row[0] for row in cursor.fetchall()]
    connection.commit()
    return ids, time.time()


def wait_drained(url: str, timeout: float) -> float:
    """Wait until no row is scheduled; return when that was seen."""
    deadline = time.monotonic() + timeout
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT count(*) FROM published WHERE status = %s", [SCHEDULED])
                row = cursor.fetchone()
                if not (row and row[0]):
                    return time.time()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"rows still scheduled after {timeout:.0f}s")
                time.sleep(0.05)
    finally:
        connection.close()


def trickle(url: str, destination: str, rate: float, seconds: float) -> dict[str, float]:
    """Commit one row per transaction at ``rate``/s for ``seconds``; return id -> commit time."""
    committed: dict[str, float] = {}
    started = time.monotonic()
    with psycopg2.connect(url) as connection:
        for number in range(int(rate * seconds)):
            time.sleep(max(0.0, started + number / rate - time.monotonic()))
            (row_id,), when = _insert(connection, destination, 1)
            committed[row_id] = when
    connection.close()
    return committed


def kafka_subscriber(bootstrap: str, topic: str) -> Callable[[dict[str, float]], Callable[[], None]]:
    def subscribe(arrivals: dict[str, float]) -> Callable[[], None]:
        # Assigned, not subscribed: a group join would delay the first messages, not the relay.
        consumer = Consumer(
            {**broker_auth.client_config(bootstrap), "group.id": "bench-relay", "fetch.wait.max.ms": 10}
        )
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                message = consumer.poll(0.05)
                if message is not None and message.error() is None:
                    headers = dict(cast(list[tuple[str, bytes]], message.headers() or []))
                    arrivals[headers["ce_id"].decode()] = time.time()
            consumer.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def unsubscribe() -> None:
            stop.set()
            thread.join()

        return unsubscribe

    return subscribe


def stomp_subscriber(destination: str) -> Callable[[dict[str, float]], Callable[[], None]]:
    def subscribe(arrivals: dict[str, float]) -> Callable[[], None]:
        class Listener(stomp.ConnectionListener):
            def on_message(self, frame: Any) -> None:
                arrivals[frame.headers["ce_id"]] = time.time()

        connection = stomp.Connection12([("127.0.0.1", STOMP_PORT)], vhost="/")
        connection.set_listener("bench", Listener())
        connection.connect("guest", "guest", wait=True)
        connection.subscribe(destination, id="bench", ack="auto")
        return connection.disconnect

    return subscribe


def measure(publisher: Publisher, url: str, rows: int, rate: float, seconds: float) -> dict[str, Any]:
    """Run one publisher over a trickle (latency) and then a bulk of ``rows`` (throughput)."""
    RUN_DIR.mkdir(exist_ok=True)
    log = (RUN_DIR / f"bench-relay-{publisher.name}.log").open("w")
    process = subprocess.Popen(
        publisher.command, env=publisher.env, cwd=SERVICE.directory, stdout=log, stderr=log
    )
    try:
        insert_rows(url, publisher.destination, 1)  # ready once it published this probe
        wait_drained(url, timeout=60)
        arrivals: dict[str, float] = {}
        stop_subscriber = publisher.subscribe(arrivals)
        time.sleep(1.0)  # subscribed before the first row
        committed = trickle(url, publisher.destination, rate, seconds)
        deadline = time.monotonic() + 30
        while not committed.keys() <= arrivals.keys() and time.monotonic() < deadline:
            time.sleep(0.1)
        stop_subscriber()
        latencies = sorted(arrivals[i] - committed[i] for i in committed if i in arrivals)
        last = len(latencies) - 1
        _, inserted_at = insert_rows(url, publisher.destination, rows)
        drained_at = wait_drained(url, timeout=1800)
    finally:
        process.terminate()
        process.wait(30)
        log.close()
    return {
        "rows": rows,
        "seconds": drained_at - inserted_at,
        "messages_per_s": rows / (drained_at - inserted_at),
        "latency": {
            "rate": rate,
            "sent": len(committed),
            "arrived": len(latencies),
            "p50_ms": 1000 * latencies[round(0.50 * last)] if latencies else None,
            "p99_ms": 1000 * latencies[round(0.99 * last)] if latencies else None,
            "max_ms": 1000 * latencies[-1] if latencies else None,
        },
    }


def compare(
    server_url: str, bootstrap: str, rows: int, rate: float = 100.0, seconds: float = 5.0
) -> dict[str, Any]:
    """Both publishers on the same database and the same rows; return both and the ratio."""
    started_rabbitmq = ensure_rabbitmq_stomp()
    url = fresh_database(server_url)
    topic = f"bench-relay-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(broker_auth.client_config(bootstrap))
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result()
    queue = f"/queue/{topic}"
    python = sys.executable
    ours = Publisher(
        name="ours",
        command=[python, str(SERVICE.manage_py), "run_worker", "--only", "relay"],
        env=_env(url, KAFKA_BOOTSTRAP_SERVERS=bootstrap),
        destination=topic,
        subscribe=kafka_subscriber(bootstrap, topic),
    )
    theirs = Publisher(
        name="django-outbox-pattern",
        command=[python, "-m", "django", "publish"],
        env=_env(url, DJANGO_SETTINGS_MODULE="bench.stomp_settings", STOMP_PORT=str(STOMP_PORT)),
        destination=queue,
        subscribe=stomp_subscriber(queue),
    )
    results = {}
    try:
        for publisher in (ours, theirs):
            results[publisher.name] = measure(publisher, url, rows, rate, seconds)
            print(json.dumps({publisher.name: results[publisher.name]}), flush=True)
    finally:
        subprocess.run(["rabbitmqctl", "delete_queue", topic], capture_output=True, check=False)
        if started_rabbitmq:
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(["rabbitmqctl", "stop"], capture_output=True, check=False, timeout=120)
    postgres.drop_databases([DATABASE], f"{server_url}/postgres")
    mine, library = results["ours"], results["django-outbox-pattern"]
    return {
        "ours": mine | {"broker": describe(), "marks_after": "broker acknowledgement"},
        "django_outbox_pattern": library
        | {"broker": "RabbitMQ over STOMP", "marks_after": "frame sent, no receipt"},
        "throughput_ratio": mine["messages_per_s"] / library["messages_per_s"],
    }


def on_own_broker(rows: int) -> dict[str, Any]:
    """``compare`` on a broker started for it (and the PostgreSQL server devstack uses)."""
    port = free_port()
    RUN_DIR.mkdir(exist_ok=True)
    broker = start_broker(port, RUN_DIR / "bench-relay-broker.log")
    try:
        return compare(os.environ.get("POSTGRES_URL", postgres.DEFAULT_SERVER_URL), f"127.0.0.1:{port}", rows)
    finally:
        stop_broker(broker)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the relay benchmark alone")
    parser.add_argument("--rows", type=int, default=100_000)
    print(json.dumps(on_own_broker(parser.parse_args().rows), indent=2))
