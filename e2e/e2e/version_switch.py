"""A rollout in the middle of a chaos run: the orchestrator restarted with new PlaceOrder sagas starting
on another definition version (``SAGA_START_VERSIONS``), while the sagas started before it run on.

Each orchestrator process is stopped as a deployment stops it (SIGTERM: it finishes its batch) and
started again with the new setting. The checker then finds sagas of both versions, each ended as the
invariants require (e2e.invariants); the sagas in flight at the switch finish on the version they
started on (``saga_common.sagas.registry``).
"""

import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from devstack.stack import Stack
from e2e.faults import ChaosContext, service

SETTING = "SAGA_START_VERSIONS"


@dataclass
class SwitchSagaVersion:
    place_order: int
    kind: str = "saga version switched"

    def describe(self) -> str:
        return f"restart the orchestrator with new PlaceOrder sagas on version {self.place_order}"

    def inject(self, context: ChaosContext) -> bool:
        return restart_orchestrator(context.stack, self.place_order) > 0


def restart_orchestrator(stack: Stack, place_order: int | None) -> int:
    """Restart every orchestrator process with new PlaceOrder sagas on ``place_order`` (None: the newest
    registered); return how many were restarted. The setting stays for every process started later."""
    if place_order is None:
        stack.config.extra_env.pop(SETTING, None)
    else:
        stack.config.extra_env[SETTING] = f"place_order={place_order}"
    orchestrator = service("orchestrator")
    restarted = 0
    started = time.time()
    workers = []
    for name in [n for n in stack.processes.processes if n.startswith("orchestrator-")]:
        popen = stack.processes.processes[name].popen
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGTERM)
            popen.wait(60)
        role = name.partition("-")[2]
        if role == "web":
            stack.start_web(orchestrator)
        else:
            stack.start_worker(orchestrator, instance=role.removeprefix("worker").lstrip("-"))
            workers.append(name)
        restarted += 1
    _wait_until_working(stack, workers, since=started)
    return restarted


def _wait_until_working(stack: Stack, workers: list[str], *, since: float, timeout: float = 60.0) -> None:
    """Until the orchestrator's web answers ready and each restarted worker has beaten since ``since``
    (all of its loops run: connected to its database and the broker), as a rollout waits for its
    readiness probes. Only the orchestrator's: another service may be stopped on purpose meanwhile."""
    deadline = time.monotonic() + timeout
    while not _ready(f"{stack.url('orchestrator')}/healthz/ready"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the orchestrator's web was not ready within {timeout}s of its restart")
        time.sleep(0.2)
    for name in workers:
        heartbeat = stack.heartbeat_file(name)
        while not (heartbeat.exists() and heartbeat.stat().st_mtime > since):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not beat within {timeout}s of its restart")
            time.sleep(0.2)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
