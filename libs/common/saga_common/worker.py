"""Run a service's background work until SIGTERM/SIGINT: the outbox relay, the inbox consumer (and,
beside it, the messaging snapshot: its lag, recorded for the operators' messaging health), and
housekeeping (the periodic jobs of ``settings.WORKER_PERIODIC_TASKS``: pruning, saga deadlines)."""

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.inbox import HandlerRegistry, configured_batch_scope
from saga_common.messaging.relay import OutboxRelay
from saga_common.monitoring import serve_worker_metrics
from saga_common.observability import tracing
from saga_common.observability.metrics import WORKER_HEARTBEAT
from saga_common.operations.health import SnapshotLoop

logger = logging.getLogger(__name__)


def message_handlers() -> HandlerRegistry:
    """Return the service's handler registry named by ``settings.SAGA_MESSAGE_HANDLERS``."""
    registry: HandlerRegistry = import_string(settings.SAGA_MESSAGE_HANDLERS)
    return registry


def stop_on_signals(stop_event: threading.Event) -> None:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s, finishing current work", signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


class Housekeeping:
    """Run each periodic task at its interval; a failing run is logged and tried again next time."""

    def __init__(self, tasks: list[tuple[str, float]], stop_event: threading.Event) -> None:
        self.tasks = [(path, import_string(path), interval) for path, interval in tasks]
        self.stop_event = stop_event

    def run(self) -> None:
        due = {path: 0.0 for path, _, _ in self.tasks}
        try:
            while not self.stop_event.is_set():
                for path, task, interval in self.tasks:
                    if time.monotonic() < due[path]:
                        continue
                    close_old_connections()
                    try:
                        task()
                    except Exception:
                        logger.exception("periodic task %s failed; next try in %.1fs", path, interval)
                        connection.close()
                    due[path] = time.monotonic() + interval
                next_due = min(due.values(), default=time.monotonic() + 1.0)
                self.stop_event.wait(max(0.05, next_due - time.monotonic()))
        finally:
            connection.close()


def run_worker(*, relay: bool = True, consumer: bool = True, housekeeping: bool = True) -> None:
    """Run the chosen loops until a signal; each has its own thread and database connection."""
    stop_event = threading.Event()
    stop_on_signals(stop_event)
    # Before any connection opens: psycopg2 is instrumented when spans are exported.
    tracing.configure(f"{settings.SERVICE_NAME}-worker", database=True)
    serve_worker_metrics(settings.METRICS_PORT, message_handlers() if consumer else None)
    loops: dict[str, Callable[[], None]] = {}
    if relay:
        loops["relay"] = OutboxRelay(stop_event=stop_event).run
    if consumer:
        loops["consumer"] = InboxConsumer(
            message_handlers(), stop_event=stop_event, batch_scope=configured_batch_scope()
        ).run
        # A thread of its own: a broker that does not answer must delay neither messages nor deadlines.
        loops["snapshot"] = SnapshotLoop(message_handlers(), stop_event=stop_event).run
    if housekeeping and settings.WORKER_PERIODIC_TASKS:
        loops["housekeeping"] = Housekeeping(settings.WORKER_PERIODIC_TASKS, stop_event).run
    failures: list[BaseException] = []

    def guarded(loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as exc:
                failures.append(exc)
                logger.exception("worker loop crashed; stopping the worker")
                stop_event.set()

        return run

    threads = [threading.Thread(target=guarded(loop), name=name) for name, loop in loops.items()]
    for thread in threads:
        thread.start()
    heartbeat = Path(settings.WORKER_HEARTBEAT_FILE) if settings.WORKER_HEARTBEAT_FILE else None
    # Signals are delivered to the main thread only: keep it free to receive them.
    while any(thread.is_alive() for thread in threads):
        if all(thread.is_alive() for thread in threads):
            WORKER_HEARTBEAT.set_to_current_time()  # the same signal for Prometheus (its alert)
            if heartbeat is not None:
                heartbeat.touch()  # liveness: every loop still runs (Kubernetes probes the file's age)
        time.sleep(0.5)
    for thread in threads:
        thread.join()
    tracing.shutdown()  # the spans of the last batches, exported before the process ends
    if failures:
        raise SystemExit(1)
