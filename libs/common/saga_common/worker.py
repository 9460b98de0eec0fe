"""Run a service's background work: the outbox relay and the inbox consumer, stopped by SIGTERM/SIGINT."""

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from django.conf import settings
from django.utils.module_loading import import_string

from saga_common.inbox import HandlerRegistry, InboxConsumer
from saga_common.relay import OutboxRelay

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


def run_worker(*, relay: bool = True, consumer: bool = True) -> None:
    """Run the relay and/or the consumer until a signal; each has its own thread and DB connection."""
    stop_event = threading.Event()
    stop_on_signals(stop_event)
    loops: dict[str, Callable[[], None]] = {}
    if relay:
        loops["relay"] = OutboxRelay(stop_event=stop_event).run
    if consumer:
        loops["consumer"] = InboxConsumer(message_handlers(), stop_event=stop_event).run
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
    # Signals are delivered to the main thread only: keep it free to receive them.
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.5)
    if failures:
        raise SystemExit(1)
