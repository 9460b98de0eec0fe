"""Real Tilt (``make tilt`` builds it into .run/tools/bin) on the Tiltfile's local mode.

``tilt ci -- --local`` brings every resource to ready (their readiness probes: webs answer
/healthz/ready, workers' heartbeats are fresh) and exits 0. Then, under ``tilt up``, an order placed
through the typed client is APPROVED, and an edit of a source file under svc_payments/ restarts
payments' web and worker, only them, after which an order still goes through on the new processes.

Both runs use the run's broker and PostgreSQL (``devstack broker`` waits on a broker that already
answers at KAFKA_BOOTSTRAP_SERVERS) with databases and topics of their own (DEVSTACK_DATABASE_PREFIX,
KAFKA_TOPIC_PREFIX: never a developer's), and the ports `make up` uses: nothing else may hold them.
Tilt starts each process in a session of its own; whatever way a test ends, every process it left is
stopped.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import pytest

from devstack.broker import free_port
from devstack.local_keys import jwt_signing_key
from devstack.services import APPS, REPO_ROOT, SERVICES
from saga_client import OrderItem, OrderRequest, ShippingAddress, ShopClient
from saga_common.web.tokens import CUSTOMER, OPERATOR, mint_token

TILT = REPO_ROOT / ".run" / "tools" / "bin" / "tilt"
LOG_DIR = REPO_ROOT / ".run" / "tilt-test"
# What the local mode runs, by resource name: every one must end up ready.
RESOURCES = {"broker", "prepare"} | {f"{s.name}-{p}" for s in SERVICES for p in ("web", "worker")}
RESOURCES |= {f"{a.name}-web" for a in APPS}
EDITED = REPO_ROOT / "svc_payments" / "payments" / "apps.py"
URLS = {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES}


# Tilt starts, probes and stops about a dozen processes on two cores: minutes, not pytest's 120 s.
pytestmark = pytest.mark.timeout(900)
# This run's databases and topics (tilt_orders, ...; tilt-<hex>.orders.commands, ...).
DATABASE_PREFIX = "tilt_"
TOPIC_PREFIX = f"tilt-{uuid.uuid4().hex[:8]}."


def tilt_env() -> dict[str, str]:
    env = dict(os.environ)
    # The Tiltfile runs `$UV run ...`: uv sets UV under `uv run` (make test); else the one on PATH.
    env.setdefault("UV", shutil.which("uv") or "uv")
    env["TILT_DISABLE_ANALYTICS"] = "1"
    env.setdefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    env |= {"DEVSTACK_DATABASE_PREFIX": DATABASE_PREFIX, "KAFKA_TOPIC_PREFIX": TOPIC_PREFIX}
    return env


def stop_tilt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a developer stops it: Tilt stops its processes, then itself. Whatever it leaves (it
    was killed, say) is stopped after it: its processes run in sessions of their own."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    leftovers = [
        found
        for found in psutil.process_iter(["environ"])
        if (found.info.get("environ") or {}).get("KAFKA_TOPIC_PREFIX") == TOPIC_PREFIX
        and found.pid != os.getpid()
    ]
    for leftover in leftovers:
        leftover.kill()
    psutil.wait_procs(leftovers, timeout=10)


@pytest.fixture(scope="module")
def tilt() -> Path:
    assert TILT.exists(), "no Tilt at .run/tools/bin/tilt: run `make tilt` (make test does)"
    busy = [port for port in (*URLS.values(), f"http://127.0.0.1:{APPS[0].port}") if _answers(port)]
    assert not busy, f"something already listens on {busy}: stop it (make down?) first"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return TILT


def _answers(url: str) -> bool:
    host, _, port = url.removeprefix("http://").partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def log_label(resource: str) -> str:
    """How Tilt prefixes a resource's log lines: its name right-aligned in 13 characters, or cut."""
    return f"{resource:>13}" if len(resource) <= 13 else resource[:12] + "…"


def test_tilt_ci_brings_every_local_resource_to_ready(tilt: Path) -> None:
    log = LOG_DIR / "tilt-ci.log"
    with log.open("w") as out:
        ci = subprocess.Popen(
            [str(tilt), "ci", "--port", str(free_port()), "--timeout", "6m", "--", "--local"],
            cwd=REPO_ROOT,
            env=tilt_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            returncode = ci.wait(timeout=420)
        finally:
            stop_tilt(ci)
    output = log.read_text()
    assert returncode == 0, f"tilt ci failed; its output is in {log}:\n{output[-4000:]}"
    assert "SUCCESS. All workloads are healthy." in output
    # "healthy" is every resource ready (their probes passed); each one ran: its log lines carry its name
    for resource in RESOURCES:
        assert f"{log_label(resource)} │" in output, resource


class TiltUp:
    """``tilt up --stream -- --local`` in its own process group; ``get`` reads its API."""

    def __init__(self, tilt: Path) -> None:
        self.tilt = tilt
        self.port = free_port()
        self.log = LOG_DIR / "tilt-up.log"
        self.process = subprocess.Popen(
            [str(tilt), "up", "--stream", "--port", str(self.port), "--", "--local"],
            cwd=REPO_ROOT,
            env=tilt_env(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def resources(self) -> dict[str, dict[str, Any]]:
        command = [str(self.tilt), "get", "uiresources", "-o", "json", "--port", str(self.port)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            return {}
        return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}

    def wait_ready(self, names: set[str], timeout: float = 360) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"tilt up exited; see {self.log}"
            resources = self.resources()
            waiting = sorted(name for name in names if not is_ready(resources.get(name)))
            if not waiting:
                return resources
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready after {timeout}s: {waiting}; see {self.log}")
            time.sleep(1)

    def stop(self) -> None:
        stop_tilt(self.process)


def is_ready(resource: dict[str, Any] | None) -> bool:
    if resource is None:
        return False
    conditions = {c["type"]: c["status"] for c in resource["status"].get("conditions", [])}
    return conditions.get("Ready") == "True"


def serve_pid(resource: dict[str, Any]) -> int:
    return int(resource["status"]["localResourceInfo"]["pid"])


def wait_restarted(
    up: "TiltUp", names: set[str], pids: dict[str, int], timeout: float = 120
) -> dict[str, int]:
    """Wait until each of ``names`` runs a process other than the one in ``pids``; the new pids."""
    deadline = time.monotonic() + timeout
    while True:
        now = up.resources()
        moved = {n: serve_pid(now[n]) for n in names if now.get(n) and serve_pid(now[n]) not in (0, pids[n])}
        if moved.keys() == names:
            return moved
        assert time.monotonic() < deadline, f"only {set(moved)} restarted; see {up.log}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def tilt_up(tilt: Path) -> Iterator[TiltUp]:
    up = TiltUp(tilt)
    try:
        up.wait_ready(RESOURCES)
        yield up
    finally:
        up.stop()


def place_order_and_settle(customer: str) -> str:
    key = jwt_signing_key()
    with ShopClient(URLS, token=mint_token(key, "ops", [OPERATOR], lifetime_seconds=600)) as ops:
        ops.open_account(customer, "100.00")
        order = ops.with_token(mint_token(key, customer, [CUSTOMER], lifetime_seconds=600)).place_order(
            OrderRequest(
                customer_id=customer,
                currency="EUR",
                items=(OrderItem(sku="SKU-1", quantity=2, unit_price=Decimal("12.50")),),
                shipping_address=ShippingAddress(
                    name="Ada Lovelace",
                    line1="1 Main St",
                    city="Somewhere",
                    postal_code="12345",
                    country="DE",
                ),
            )
        )
        deadline = time.monotonic() + 60
        while (status := ops.get_order(order.id).status) not in {"APPROVED", "REJECTED"}:
            assert time.monotonic() < deadline, f"order {order.id} still {status} after 60 s"
            time.sleep(0.2)
        return status


def test_an_order_placed_on_tilts_local_mode_is_approved(tilt_up: TiltUp) -> None:
    assert place_order_and_settle(f"tilt-{time.time_ns()}") == "APPROVED"


def test_an_edit_under_svc_payments_restarts_payments_and_nothing_else(tilt_up: TiltUp) -> None:
    before = tilt_up.wait_ready(RESOURCES)
    pids = {name: serve_pid(before[name]) for name in RESOURCES if name not in {"prepare"}}
    original = EDITED.read_text()
    reloaded = {"payments-web", "payments-worker"}
    try:
        EDITED.write_text(original + "# an edit the Tilt test makes and takes back\n")
        edited = wait_restarted(tilt_up, reloaded, pids)
    finally:
        EDITED.write_text(original)
    # taking the edit back is an edit too: its restart must be over before the last order
    wait_restarted(tilt_up, reloaded, edited)
    after = tilt_up.wait_ready(RESOURCES)
    # Tilt says why it restarted them: the file that changed, in each one's log
    log = tilt_up.log.read_text()
    for name in reloaded:
        assert f"{log_label(name)} │ 1 File Changed: [svc_payments/payments/apps.py]" in log, name
    unchanged = {name for name in pids if name not in reloaded and name != "broker"}
    moved = {name for name in unchanged if serve_pid(after[name]) != pids[name]}
    assert not moved, f"{moved} restarted on an edit under svc_payments/"
    assert place_order_and_settle(f"tilt-reload-{time.time_ns()}") == "APPROVED"
