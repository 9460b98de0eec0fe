"""Test-only switches: crash points for the chaos suite, and a fail point that dead-letters on demand.

Neither does anything unless its environment variables are set; they are read once, at import, so in
production each switch costs one comparison. No deployment sets them.

Crash points: die by SIGKILL at an exact place in the messaging code.

A worker started with ``SAGA_CRASH_AT=<point>`` and ``SAGA_CRASH_AFTER=<n>`` kills itself (kill -9:
no cleanup, no flush, no rollback but the database's own) the n-th time it reaches ``<point>``,
after appending a line to ``SAGA_FAULT_LOG`` so the chaos driver can assert that the fault fired.
Without ``SAGA_CRASH_AT`` a crash point is one dictionary lookup.

The points (each where a crash is most likely to lose or duplicate something):
- ``relay.after_produce``: the broker acknowledged a batch, the rows are not yet marked published;
- ``inbox.before_commit``: a message's effect and inbox row are written, not committed;
- ``inbox.after_commit``: committed, but the Kafka offset is not.

The fail point (end-to-end and browser tests, to make a real worker dead-letter a message): a worker
started with ``SAGA_FAIL_TYPES=<type>[,<type>...]`` (message types, e.g. ``ScheduleShipment``) fails
every message of those types in the inbox, before its handler runs, with ``InjectedFailure``: an
ordinary handler failure, so the consumer retries it ``INBOX_MAX_ATTEMPTS`` times and then dead-letters
it. With ``SAGA_FAIL_WHILE=<path>`` as well, only while that file exists: a test creates the file to
make messages fail and removes it before replaying them.
"""

import os
import signal
import time
from collections.abc import Mapping

CRASH_POINTS = ("relay.after_produce", "inbox.before_commit", "inbox.after_commit")

_ARMED = os.environ.get("SAGA_CRASH_AT", "")
_remaining = int(os.environ.get("SAGA_CRASH_AFTER", "1"))


def crash_point(name: str) -> None:
    """Kill this process here if the chaos driver armed this point and its count is reached."""
    global _remaining
    if name != _ARMED:
        return
    _remaining -= 1
    if _remaining > 0:
        return
    log = os.environ.get("SAGA_FAULT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as sink:
            sink.write(f"{time.time():.3f} {os.getpid()} {name}\n")
    os.kill(os.getpid(), signal.SIGKILL)


class InjectedFailure(RuntimeError):
    """A failure the fail point made up (``SAGA_FAIL_TYPES``); not retried beyond the inbox's attempts."""


_fail_types: frozenset[str] = frozenset()
_fail_while = ""


def arm_fail_point(environ: Mapping[str, str] = os.environ) -> None:
    """Read ``SAGA_FAIL_TYPES`` and ``SAGA_FAIL_WHILE`` (done once at import; tests call it again)."""
    global _fail_types, _fail_while
    _fail_types = frozenset(
        name.strip() for name in environ.get("SAGA_FAIL_TYPES", "").split(",") if name.strip()
    )
    _fail_while = environ.get("SAGA_FAIL_WHILE", "")


def fail_point(message_type: str) -> None:
    """Raise ``InjectedFailure`` if this type is to fail (and the file ``SAGA_FAIL_WHILE`` names exists)."""
    if not _fail_types or message_type not in _fail_types:
        return
    if _fail_while and not os.path.exists(_fail_while):
        return
    raise InjectedFailure(f"{message_type} failed on purpose (SAGA_FAIL_TYPES)")


arm_fail_point()
