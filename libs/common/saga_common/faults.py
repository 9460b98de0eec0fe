"""Crash points for the chaos suite: die by SIGKILL at an exact place in the messaging code.

A worker started with ``SAGA_CRASH_AT=<point>`` and ``SAGA_CRASH_AFTER=<n>`` kills itself (kill -9:
no cleanup, no flush, no rollback but the database's own) the n-th time it reaches ``<point>``,
after appending a line to ``SAGA_FAULT_LOG`` so the chaos driver can assert that the fault fired.
Without ``SAGA_CRASH_AT`` a crash point is one dictionary lookup.

The points (each where a crash is most likely to lose or duplicate something):
- ``relay.after_produce``: the broker acknowledged a batch, the rows are not yet marked published;
- ``inbox.before_commit``: a message's effect and inbox row are written, not committed;
- ``inbox.after_commit``: committed, but the Kafka offset is not.
"""

import os
import signal
import time

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
