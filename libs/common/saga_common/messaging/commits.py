"""How the relay learns that an outbox row was committed: PostgreSQL ``LISTEN`` on the channel a trigger
(migration ``saga_common.0001_outbox_relay``) notifies on every commit that wrote outbox rows."""

import select
import threading
from typing import Any

import psycopg2
from django.db import connection

OUTBOX_CHANNEL = "saga_outbox"  # notified by the trigger of migration saga_common.0001_outbox_relay
UNLISTENED_POLL_SECONDS = 0.5


class CommitSignal:
    """Sleep until an outbox row is committed (PostgreSQL ``LISTEN``) or the poll interval passes.

    The listening connection is the relay's own (autocommit, outside Django's), reopened after any
    error; while it cannot be opened the relay simply polls.
    """

    def __init__(self) -> None:
        self._listener: Any = None

    def wait(self, timeout: float, stop_event: threading.Event) -> None:
        try:
            listener = self._listen()
            if select.select([listener], [], [], timeout)[0]:
                listener.poll()
                listener.notifies.clear()
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
            listener = psycopg2.connect(**connection.get_connection_params())
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
