"""How the relay learns that an outbox row was committed: PostgreSQL ``LISTEN`` on the channel a trigger
(migration ``saga_common.0001_outbox_relay``) notifies on every commit that wrote outbox rows."""

import select
import threading
import time
from typing import Any

import psycopg2
from django.db import connection

OUTBOX_CHANNEL = "saga_outbox"  # notified by the trigger of migration saga_common.0001_outbox_relay
UNLISTENED_POLL_SECONDS = 0.5
STOP_CHECK_SECONDS = 0.5


class CommitSignal:
    """Sleep until an outbox row is committed (PostgreSQL ``LISTEN``) or the poll interval passes.

    The listening connection is the relay's own (autocommit, outside Django's), reopened after any
    error; while it cannot be opened the relay simply polls.
    """

    def __init__(self) -> None:
        self._listener: Any = None

    def wait(self, timeout: float, stop_event: threading.Event) -> None:
        """Return once a commit was notified, ``timeout`` passed, or ``stop_event`` was set (looked at
        twice a second: a select cannot wait on it)."""
        try:
            if self._listener is None:
                # A row committed before LISTEN took effect notified no one: read the outbox once
                # more now that it has.
                self._listen()
                return
            deadline = time.monotonic() + timeout
            while not stop_event.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                if select.select([self._listener], [], [], min(remaining, STOP_CHECK_SECONDS))[0]:
                    self._listener.poll()
                    self._listener.notifies.clear()
                    return
        except (psycopg2.Error, OSError, ValueError):
            # No notification can come (the database went away, or dropped this connection): poll
            # at the pace the relay kept before it listened, not at the long interval that only backs
            # up a working listener.
            self.close()
            stop_event.wait(min(timeout, UNLISTENED_POLL_SECONDS))

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _listen(self) -> Any:
        if self._listener is None:
            # TCP keepalives: a connection dropped on the way (NAT, a restarted proxy) raises here
            # within a minute instead of leaving the relay on its backup poll.
            keepalives = {
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            }
            listener = psycopg2.connect(**(keepalives | connection.get_connection_params()))
            listener.autocommit = True
            with listener.cursor() as cursor:
                cursor.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self._listener = listener
        return self._listener


def notify_relay() -> None:
    """Wake the relay when this transaction commits (rows scheduled again by an UPDATE, which the
    INSERT trigger does not notify)."""
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {OUTBOX_CHANNEL}")
