"""A peer measured as ``bench.run`` measures us: the same offered rates, warm-up, idle CPU, memory.

Each peer runs on the same PostgreSQL server as our stack (which is stopped by then), in databases of
its own: its workload's (``peers.workload``: orders, accounts, payments, shipments) and its engine's
(DBOS's system database; Temporal's persistence and visibility). Its processes are measured as our
stack's are: CPU seconds of each process tree before and after each step, PostgreSQL's server processes
counted too, peak memory sampled every half second.
"""

import argparse
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from bench import baseline
from bench import run as bench_run
from bench.load import RICH
from devstack import postgres
from devstack.broker import free_port
from devstack.services import REPO_ROOT
from peers import temporal_peer, workload

RICH_CREDIT = "999999999.00"  # as bench.run opens our RICH account


@dataclass
class PeerProcesses:
    """A peer started: its processes by name, where the load sends orders, its databases."""

    target: str
    orders_url: str
    databases: list[str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()} | {bench_run.POSTGRES: 0}

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _database_url(server: str, name: str) -> str:
    return f"{server}/{name}"


def _prepare_workload_database(server: str, name: str) -> str:
    admin = f"{server}/postgres"
    postgres.ensure_databases([name], admin)
    url = _database_url(server, name)
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(workload.SCHEMA)

        def execute(sql: str, params: dict[str, Any]) -> list[Any]:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

        workload.open_account(execute, RICH, RICH_CREDIT)  # BROKE has none: its orders are declined
    connection.close()
    return url


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


BENCH_DIR = Path(__file__).resolve().parents[1]
DBOS_PROJECT = BENCH_DIR / "peer-envs" / "dbos"


@functools.cache  # synced once a run, not once a sweep
def dbos_environment() -> tuple[Path, dict[str, str]]:
    """The DBOS peer's interpreter and environment: one of its own, synced from its lock (its
    pyproject says why it cannot share ours) under .run/peer-envs/dbos, on the interpreter we run on
    (the same CPython for both sides of the comparison), with none of our virtualenv in the way."""
    venv = REPO_ROOT / ".run" / "peer-envs" / "dbos"
    env = baseline.environment(REPO_ROOT)  # without our VIRTUAL_ENV, PYTHONPATH, bin on PATH
    for name in ("UV_FROZEN", "UV_LOCKED", "UV_NO_SYNC"):
        env.pop(name, None)
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    sync = ["sync", "--locked", "--quiet", "--python", sys.executable, "--project", str(DBOS_PROJECT)]
    subprocess.run([*baseline.uv_command(), *sync], env=env, check=True)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *env["PATH"].split(os.pathsep)[1:]])
    env["PYTHONPATH"] = str(BENCH_DIR)  # peers.workload, from this checkout
    return venv / "bin" / "python", env


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the peer's process exited with {process.returncode} (see its log)")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout} s")
        time.sleep(0.2)


def start_dbos(server: str, run_dir: Path) -> PeerProcesses:
    app, system = "bench_peer_dbos", "bench_peer_dbos_system"
    postgres.drop_databases([app, system], f"{server}/postgres")
    orders_url = _prepare_workload_database(server, app)
    port = free_port()
    python, env = dbos_environment()
    command = [str(python), "-m", "peers.dbos_peer", "--port", str(port), "--database-url", orders_url]
    command += ["--system-database-url", _database_url(server, system)]
    peer = PeerProcesses(f"http://127.0.0.1:{port}", orders_url, [app, system])
    peer.processes["dbos"] = _spawn(command, run_dir / "dbos.log", env)
    _wait_listening(port, peer.processes["dbos"])
    return peer


def start_temporal(server: str, run_dir: Path) -> PeerProcesses:
    app, engine = "bench_peer_temporal", "bench_peer_temporal_server"
    postgres.drop_databases([app, engine, engine + "_visibility"], f"{server}/postgres")
    orders_url = _prepare_workload_database(server, app)
    temporal_peer.create_server_databases(server, engine)
    ports = temporal_peer.ServerPorts.free()
    config = run_dir / "temporal-server.yaml"
    config.write_text(temporal_peer.server_config(server, engine, ports))
    peer = PeerProcesses(ports.address, orders_url, [app, engine, engine + "_visibility"])
    peer.processes["temporal-server"] = temporal_peer.start_server(config, run_dir / "temporal-server.log")
    try:
        temporal_peer.wait_ready(ports.address)
        worker = [sys.executable, "-m", "peers.temporal_peer", "worker", "--address", ports.address]
        peer.processes["temporal-worker"] = _spawn(
            [*worker, "--database-url", orders_url], run_dir / "worker.log"
        )
    except BaseException:
        peer.stop()
        raise
    return peer


STARTERS = {"dbos": start_dbos, "temporal": start_temporal}


@contextlib.contextmanager
def started(name: str, server: str, run_dir: Path) -> Iterator[PeerProcesses]:
    run_dir.mkdir(parents=True, exist_ok=True)
    peer = STARTERS[name](server, run_dir)
    try:
        yield peer
    finally:
        peer.stop()


def step(name: str, peer: PeerProcesses, server: str, rate: float, seconds: float) -> dict[str, Any]:
    load = [sys.executable, "-m", "peers.load", name, peer.target, str(rate), str(seconds)]
    result = bench_run.measured_step(
        load, peer.pids(), f"{server}/postgres", peer.databases, peer.orders_url, orders_table="orders"
    )
    return {"offered_rate": rate} | result


def sweep(
    name: str, server: str, run_dir: Path, rates: list[float], args: argparse.Namespace
) -> dict[str, Any]:
    """One sweep of the rates on a freshly started peer; the same shape as ``bench.run.sweep``'s."""
    with started(name, server, run_dir) as peer:
        pids = peer.pids()
        step(name, peer, server, args.warmup_rate, args.warmup_seconds)  # warm-up, not measured
        idle = bench_run.idle_cpu(pids, args.idle_seconds) if args.idle_seconds else None
        if idle:
            print(json.dumps({"peer": name, "idle_cpu_percent": idle}), flush=True)
        sampler = bench_run.Sampler(pids)
        sampler.start()
        steps = []
        for rate in rates:
            seconds = args.saturation_seconds if rate == args.saturation else args.seconds
            result = step(name, peer, server, rate, seconds)
            print(json.dumps({"peer": name} | bench_run.step_line(result, traced=False)), flush=True)
            steps.append(result)
        sampler.stop()
        idle_warm = bench_run.warm_idle(pids, args.idle_seconds)
    return {
        "steps": steps,
        "idle": idle,
        "idle_warm": idle_warm,
        "peak": sampler.peak,
        "peak_total": sampler.peak_total,
    }
