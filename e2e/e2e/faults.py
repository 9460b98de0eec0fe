"""The faults of the chaos suite. Each ``inject`` returns whether the fault demonstrably fired.

- ``Crash``: restart a worker armed to SIGKILL itself at a crash point (saga_common.faults), wait
  for the kill, then restart it unarmed. Fired: exit by SIGKILL and a line in the fault log.
- ``Kill``: SIGKILL a whole process group (a worker, or gunicorn with its workers) from outside.
- ``PauseBroker``: SIGSTOP the broker for longer than the producers' delivery timeout, then SIGCONT.
- ``DropConnections``: pg_terminate_backend every connection to one service's database.
- ``Duplicate``: re-deliver recent messages of a topic byte for byte (same ids: the inbox drops them).
- ``StaleReplies``: re-send old replies, drawn from the whole history, under new ids, so they reach
  the saga engine out of order.
- ``Poison``: messages that cannot be parsed; they must end in the topic's DLQ, and only they.
- ``StopWorker``: SIGSTOP a worker for longer than a step's attempts allow, so sagas give up on it.
- ``LateCommands``: re-send commands of sagas that were compensated, under new ids, as a replayed
  dead letter would arrive: the participants' tombstones must refuse them.
- ``RestartPostgres``: stop the PostgreSQL server every service uses, wait, start it again; while it
  is down every web must answer 503 JSON, and afterwards every web and worker must carry on by itself.
- ``SkewedClock``: run a worker with its clock a few seconds ahead or behind (libfaketime) for a while.
- ``HostileRecords``: records no producer of ours would write (timestamps out of range or far ahead,
  a value near the size limit, keys and headers that are not text) and copies of real messages
  stamped with such timestamps: none may stop a worker, the poison must end as dead letters.
"""

import os
import random
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import psycopg2

from devstack import postgres
from devstack.local_keys import jwt_signing_key
from devstack.services import SERVICES, Service
from devstack.stack import Stack
from e2e.topics import RawMessage, produce, read_all
from saga_common.web.tokens import OPERATOR, mint_token
from saga_testing.kafka import accept_any_timestamp


@dataclass
class ChaosContext:
    stack: Stack
    fault_log: Path
    poison_sent: list[RawMessage] = field(default_factory=list)
    # (service, from, to): when a fault had a service's worker stopped (wall clock, UTC)
    stopped: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    late_commands: list[str] = field(default_factory=list)  # ids of the commands re-sent late
    # poison values too large for their .dlq copy, which goes trimmed (a reference instead of the value)
    oversized: set[bytes] = field(default_factory=set)
    outages: list[dict[str, object]] = field(default_factory=list)  # what RestartPostgres observed
    broker_recoveries: list[dict[str, object]] = field(default_factory=list)  # e2e.broker_faults
    # orders acknowledged so far by the load (TwoNodesDown: orders are taken while nothing is published)
    acknowledged: Callable[[], int] = lambda: 0

    @property
    def bootstrap(self) -> str:
        return self.stack.config.kafka_bootstrap

    def topic(self, base: str) -> str:
        return f"{self.stack.config.topic_prefix}{base}"

    def database_url(self, service: Service) -> str:
        return self.stack.config.database_url(service)


class Fault(Protocol):
    kind: str

    def describe(self) -> str: ...

    def inject(self, context: ChaosContext) -> bool: ...


def service(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


def _wait_exit(context: ChaosContext, process_name: str, timeout: float) -> int | None:
    popen = context.stack.processes.processes[process_name].popen
    try:
        return popen.wait(timeout)
    except Exception:
        return None


@dataclass
class Crash:
    service: str
    point: str
    after: int
    kind: str = "crash"

    def describe(self) -> str:
        return f"kill -9 {self.service} worker at {self.point} (hit #{self.after})"

    def inject(self, context: ChaosContext) -> bool:
        name = f"{self.service}-worker"
        context.stack.processes.stop(name)
        before = _fault_lines(context.fault_log)
        context.stack.start_worker(
            service(self.service),
            extra_env={
                "SAGA_CRASH_AT": self.point,
                "SAGA_CRASH_AFTER": str(self.after),
                "SAGA_FAULT_LOG": str(context.fault_log),
            },
        )
        code = _wait_exit(context, name, timeout=30)
        fired = code == -signal.SIGKILL and any(
            line.endswith(self.point) for line in _fault_lines(context.fault_log)[len(before) :]
        )
        if code is None:  # the point was never reached: stop the armed worker before going on
            context.stack.processes.stop(name)
        context.stack.start_worker(service(self.service))
        return fired


@dataclass
class Kill:
    process: str  # e.g. "payments-worker", "orders-web"
    kind: str = "kill -9"

    def describe(self) -> str:
        return f"kill -9 {self.process} (its whole process group)"

    def inject(self, context: ChaosContext) -> bool:
        popen = context.stack.processes.processes[self.process].popen
        os.killpg(popen.pid, signal.SIGKILL)  # started with its own session: pgid == pid
        code = popen.wait(10)
        name, _, role = self.process.rpartition("-")
        if role == "web":
            time.sleep(0.5)  # let the port be released by the killed gunicorn workers
            context.stack.start_web(service(name))
        else:
            context.stack.start_worker(service(name))
        return code == -signal.SIGKILL


@dataclass
class PauseBroker:
    seconds: float
    kind: str = "broker paused"

    def describe(self) -> str:
        return f"SIGSTOP the broker for {self.seconds:.0f}s"

    def inject(self, context: ChaosContext) -> bool:
        pid = context.stack.broker_pid
        if pid is None:
            return False
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(0.2)
            stopped = Path(f"/proc/{pid}/stat").read_text().split()[2] == "T"
            time.sleep(self.seconds)
        finally:
            os.kill(pid, signal.SIGCONT)
        return stopped


@dataclass
class DropConnections:
    service: str
    kind: str = "db connections dropped"

    def describe(self) -> str:
        return f"pg_terminate_backend on {self.service}'s database"

    def inject(self, context: ChaosContext) -> bool:
        target = context.stack.config.database_name(service(self.service))
        admin = f"{context.stack.config.postgres_url}/postgres"
        with psycopg2.connect(admin) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [target],
            )
            row = cursor.fetchone()
        connection.close()
        return bool(row and row[0] > 0)


@dataclass
class Duplicate:
    topic: str
    count: int
    kind: str = "duplicates"

    def describe(self) -> str:
        return f"re-deliver the last {self.count} messages of {self.topic}"

    def inject(self, context: ChaosContext) -> bool:
        messages = read_all(context.bootstrap, context.topic(self.topic), idle=1.0, limit=10.0)
        copies = messages[-self.count :]
        return bool(copies) and produce(context.bootstrap, copies) == len(copies)


@dataclass
class StaleReplies:
    count: int
    seed: int = 0
    kind: str = "out-of-order replies"

    def describe(self) -> str:
        return f"re-send {self.count} old replies, drawn from the whole history, under new ids"

    def inject(self, context: ChaosContext) -> bool:
        replies = read_all(context.bootstrap, context.topic("orchestrator.replies"), idle=1.0, limit=10.0)
        return bool(_resend_under_new_ids(context, replies, self.count, self.seed))


@dataclass
class StopWorker:
    process: str  # e.g. "payments-worker"
    seconds: float
    kind: str = "worker stopped"

    def describe(self) -> str:
        return f"SIGSTOP {self.process} for {self.seconds:.0f}s (longer than a step's attempts)"

    def inject(self, context: ChaosContext) -> bool:
        pid = context.stack.processes.processes[self.process].popen.pid
        os.killpg(pid, signal.SIGSTOP)
        started = datetime.now(UTC)
        try:
            time.sleep(0.2)
            stopped = Path(f"/proc/{pid}/stat").read_text().split()[2] == "T"
            time.sleep(self.seconds)
        finally:
            os.killpg(pid, signal.SIGCONT)
            context.stopped.append((self.process.partition("-")[0], started, datetime.now(UTC)))
        return stopped


# The commands a compensated saga may receive late, and the compensation that must make them refused.
_LATE = {
    "payments.commands": ("AuthorizePayment", "VoidPayment"),
    "shipping.commands": ("ScheduleShipment", "CancelShipment"),
}


@dataclass
class LateCommands:
    count: int
    seed: int = 0
    kind: str = "late commands"

    def describe(self) -> str:
        return f"re-send {self.count} commands of compensated sagas under new ids"

    def inject(self, context: ChaosContext) -> bool:
        late: list[RawMessage] = []
        for topic, (command, compensation) in _LATE.items():
            messages = read_all(context.bootstrap, context.topic(topic), idle=1.0, limit=10.0)
            undone = {_order_of(m) for m in messages if m.message_type == compensation}
            late += [m for m in messages if m.message_type == command and _order_of(m) in undone]
        sent = _resend_under_new_ids(context, late, self.count, self.seed)
        context.late_commands += sent
        return bool(sent)


def _resend_under_new_ids(
    context: ChaosContext, messages: list[RawMessage], count: int, seed: int
) -> list[str]:
    """Re-send ``count`` of ``messages`` drawn with ``seed`` under new ids; the ids, if all were acked."""
    drawn = [m.with_new_id() for m in random.Random(seed).sample(messages, min(count, len(messages)))]
    acked = bool(drawn) and produce(context.bootstrap, drawn) == len(drawn)
    return [str(m.message_id) for m in drawn] if acked else []


def _order_of(message: RawMessage) -> str:
    return message.key.decode() if message.key else ""


@dataclass
class Poison:
    topic: str
    count: int
    kind: str = "poison"

    def describe(self) -> str:
        return f"{self.count} unparseable messages on {self.topic}"

    def inject(self, context: ChaosContext) -> bool:
        poison = [
            RawMessage(context.topic(self.topic), b"poison", f"\x00chaos poison {uuid.uuid4()}".encode(), [])
            for _ in range(self.count)
        ]
        acked = produce(context.bootstrap, poison)
        context.poison_sent += poison
        return acked == len(poison)


def _fault_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@dataclass
class RestartPostgres:
    seconds: float = 5.0
    kind: str = "postgres restarted"

    def describe(self) -> str:
        return f"stop PostgreSQL, wait {self.seconds:.0f}s, start it"

    def inject(self, context: ChaosContext) -> bool:
        """Fired: the server was down (no connection), every web answered 503 JSON while it was, and
        every web answered again after it came back. What each web answered is kept in the report."""
        stack = context.stack
        webs = {s.name: stack.url(s.name) for s in SERVICES}
        token = mint_token(jwt_signing_key(), "chaos", [OPERATOR], lifetime_seconds=3600)
        stopped_at = datetime.now(UTC)
        postgres.stop_server()
        started = time.monotonic()
        try:
            down = not postgres.reachable(f"{stack.config.postgres_url}/postgres")
            answers = {name: _probe(url, token) for name, url in webs.items()}
            time.sleep(max(0.0, self.seconds - (time.monotonic() - started)))
        finally:
            postgres.start_server()
        recovered = {name: _recovery_seconds(url, token, timeout=30.0) for name, url in webs.items()}
        # No participant could answer from the stop until its web answered again (the probes above may
        # have taken longer than the wait): as if each had been stopped for all of that.
        context.stopped += [(s.name, stopped_at - timedelta(seconds=1), datetime.now(UTC)) for s in SERVICES]
        context.outages.append({"while_down": answers, "recovered_after_s": recovered})
        return (
            down
            and all(status == 503 and json_body for status, json_body in answers.values())
            and all(seconds is not None for seconds in recovered.values())
        )


def _probe(url: str, token: str) -> tuple[int, bool]:
    """(status, whether the body is JSON) of an API read that needs the database (0: no answer)."""
    request = urllib.request.Request(
        f"{url}/api/v1/operations/messaging", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get_content_type() == "application/json"
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type() == "application/json"
    except OSError:
        return 0, False


def _recovery_seconds(url: str, token: str, *, timeout: float) -> float | None:
    """Seconds until the web at ``url`` answers that read with 200 again (None: not within ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _probe(url, token)[0] == 200:
            return round(time.monotonic() - started, 1)
        time.sleep(0.2)
    return None


def libfaketime() -> str | None:
    """Debian's multi-threaded libfaketime (make test / make chaos install it), if present."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    return str(found[0]) if found else None


@dataclass
class SkewedClock:
    service: str
    seconds: float  # ahead (+) or behind (-)
    hold: float = 30.0
    kind: str = "clock skewed"

    def describe(self) -> str:
        return f"{self.service} worker's clock {self.seconds:+.0f}s for {self.hold:.0f}s (libfaketime)"

    def inject(self, context: ChaosContext) -> bool:
        """Restart the worker under libfaketime, let it work, then restart it on the true clock. Fired:
        the skewed worker had libfaketime loaded and was still running when its time was up."""
        library = libfaketime()
        if library is None:
            return False
        name = f"{self.service}-worker"
        # Each restart stops the worker for a moment (and it rejoins its group): excused like a stop.
        restarted = datetime.now(UTC)
        context.stack.processes.stop(name)
        context.stack.start_worker(
            service(self.service),
            extra_env={
                "LD_PRELOAD": library,
                "FAKETIME": f"{self.seconds:+.0f}s",
                # librdkafka and the loops time out on the monotonic clock: only the wall clock moves
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            },
        )
        context.stopped.append((self.service, restarted, datetime.now(UTC)))
        pid = context.stack.processes.processes[name].popen.pid
        time.sleep(2.0)
        try:
            loaded = "libfaketime" in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            loaded = False
        time.sleep(self.hold)
        survived = context.stack.processes.processes[name].running
        restarted = datetime.now(UTC)
        context.stack.processes.stop(name)
        context.stack.start_worker(service(self.service))
        context.stopped.append((self.service, restarted, datetime.now(UTC)))
        return loaded and survived


# Kafka timestamps (ms) no clock of ours would give: beyond datetime's range, beyond year 9999, far
# ahead but representable, and before the epoch.
HOSTILE_TIMESTAMPS = (10**17, 253402300800005, 221845392000000, 1)
NEAR_SIZE_LIMIT = 999_800  # bytes: the record fits the producer's message.max.bytes, its .dlq copy not


@dataclass
class HostileRecords:
    topic: str
    kind: str = "hostile records"

    def describe(self) -> str:
        return (
            f"hostile records on {self.topic} (timestamps, size, keys, headers), and real copies so stamped"
        )

    def inject(self, context: ChaosContext) -> bool:
        topic = context.topic(self.topic)
        accept_any_timestamp(context.bootstrap, topic)  # Apache Kafka refuses those over an hour ahead
        tag = uuid.uuid4().hex.encode()
        poison = [
            RawMessage(topic, b"o-hostile", b"\x00hostile ts " + tag, [], timestamp=ts)
            for ts in HOSTILE_TIMESTAMPS
        ]
        poison += [
            RawMessage(topic, b"o-hostile", tag + b"x" * (NEAR_SIZE_LIMIT - len(tag)), []),
            RawMessage(topic, b"\xff\xfe\x00", b"\x00hostile key " + tag, [("ce_id", b"\xff")]),
            RawMessage(topic, None, b"\x00hostile no key " + tag, [("a\x00b", None), ("x", b"\x00")]),
        ]
        # Real messages again (their ids are known: the inbox drops them), stamped far ahead.
        recent = read_all(context.bootstrap, topic, idle=1.0, limit=10.0)[-len(HOSTILE_TIMESTAMPS) :]
        copies = [
            RawMessage(m.topic, m.key, m.value, m.headers, timestamp=ts)
            for m, ts in zip(recent, HOSTILE_TIMESTAMPS, strict=False)
        ]
        acked = produce(context.bootstrap, poison + copies)
        context.poison_sent += poison
        context.oversized |= {m.value for m in poison if len(m.value) >= NEAR_SIZE_LIMIT}
        return acked == len(poison) + len(copies) and bool(copies)
