"""A small supervisor: start named processes, prefix their output, stop or kill them one by one.

``make up`` uses it in the foreground; the system tests use it to start (and, later, crash) the very
same processes.
"""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_COLOURS = itertools.cycle(["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"])


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None
    colour: str
    pump: threading.Thread | None = field(default=None)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None


class ProcessGroup:
    """Processes started together and stopped together."""

    def __init__(self, *, echo: bool = True, log_dir: Path | None = None) -> None:
        self.echo = echo
        self.log_dir = log_dir
        self.processes: dict[str, ManagedProcess] = {}
        self._print_lock = threading.Lock()
        self._width = 12
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self, name: str, command: list[str], *, env: dict[str, str], cwd: Path | None = None
    ) -> ManagedProcess:
        log_path = self.log_dir / f"{name}.log" if self.log_dir else None
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            env={**inherited_environment(), **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own session: a terminal's Ctrl-C reaches only the supervisor, which then stops
            # everything in order (services first, broker last) instead of all at once.
            start_new_session=True,
        )
        self._width = max(self._width, len(name))
        process = ManagedProcess(name, popen, log_path, next(_COLOURS))
        process.pump = threading.Thread(target=self._pump, args=(process,), daemon=True, name=f"log-{name}")
        process.pump.start()
        self.processes[name] = process
        return process

    def signal(self, name: str, signum: int) -> None:
        process = self.processes[name]
        if process.running:
            process.popen.send_signal(signum)

    def stop(self, name: str, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; return the exit code."""
        process = self.processes[name]
        self.signal(name, signal.SIGTERM)
        try:
            return process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            return process.popen.wait()

    def stop_all(self, timeout: float = 20.0) -> None:
        for name in self.processes:
            self.signal(name, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        for process in self.processes.values():
            if process.pump is not None:
                process.pump.join(timeout=2)

    def first_exited(self) -> ManagedProcess | None:
        return next((p for p in self.processes.values() if not p.running), None)

    def _pump(self, process: ManagedProcess) -> None:
        assert process.popen.stdout is not None
        sink: IO[bytes] | None = open(process.log_path, "ab") if process.log_path else None  # noqa: SIM115
        try:
            for raw in process.popen.stdout:
                if sink is not None:
                    sink.write(raw)
                    sink.flush()
                if self.echo:
                    self._print(process, raw.decode("utf-8", "replace").rstrip("\n"))
        finally:
            if sink is not None:
                sink.close()

    def _print(self, process: ManagedProcess, line: str) -> None:
        prefix = f"{process.name:<{self._width}} |"
        if sys.stdout.isatty():
            prefix = f"\033[{process.colour}m{prefix}\033[0m"
        with self._print_lock:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()


def inherited_environment() -> dict[str, str]:
    """This shell's environment less any broker credential (a shell that loaded .run/local.env has every
    user's password; make test's has the admin's): a process gets its own user from Stack.env, or none."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("KAFKA_PASSWORD_")
        and name not in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
    }
