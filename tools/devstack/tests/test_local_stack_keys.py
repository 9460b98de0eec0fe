"""The local stack runs as deployed (no debug mode), so it needs keys of its own that its clients share;
and each web gets its own metrics port when it has one worker process."""

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from devstack.local_keys import BROKER_PASSWORDS, NAMES, broker_passwords, jwt_signing_key, local_keys
from devstack.processes import ProcessGroup
from devstack.services import APPS, SERVICES
from devstack.stack import Stack, StackConfig
from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY

DEV_KEYS = {DEV_SIGNING_KEY, DEV_SECRET_KEY}


@pytest.fixture(autouse=True)
def no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*NAMES, *BROKER_PASSWORDS, "KAFKA_SASL_PASSWORD", "KAFKA_SASL_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BROKER", "kafka")


def test_keys_are_made_once_and_are_not_the_development_keys(tmp_path: Path) -> None:
    path = tmp_path / "local.env"
    keys = local_keys(path)
    assert set(keys) == set(NAMES)
    assert not set(keys.values()) & DEV_KEYS
    assert all(len(value) >= 32 for value in keys.values())
    assert local_keys(path) == keys  # kept: tokens minted earlier stay valid
    assert path.stat().st_mode & 0o077 == 0  # readable by this user only
    # a shell can load it (and compose's --env-file): the keys, then the broker's passwords
    assert path.read_text().startswith("".join(f"{name}={keys[name]}\n" for name in NAMES))


def test_each_broker_user_has_a_password_of_its_own(tmp_path: Path) -> None:
    passwords = broker_passwords(tmp_path / "local.env")
    assert set(passwords) == {"admin", *(service.name for service in SERVICES)}
    assert len(set(passwords.values())) == len(passwords)
    assert all(len(value) >= 32 for value in passwords.values())
    assert broker_passwords(tmp_path / "local.env") == passwords


def test_a_file_from_before_the_broker_passwords_gets_them_and_keeps_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "local.env"
    path.write_text("JWT_SIGNING_KEY=old-signing-key-of-32-characters-x\nDJANGO_SECRET_KEY=old-secret\n")
    passwords = broker_passwords(path)
    assert local_keys(path) == {
        "JWT_SIGNING_KEY": "old-signing-key-of-32-characters-x",
        "DJANGO_SECRET_KEY": "old-secret",
    }
    assert broker_passwords(path) == passwords
    assert len(passwords) == len(SERVICES) + 1


def test_a_service_gets_its_own_broker_user_and_no_other_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwords = broker_passwords()
    # a shell that loaded .run/local.env (every password), and make test's (the admin's user)
    for name, user in BROKER_PASSWORDS.items():
        monkeypatch.setenv(name, passwords[user])
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "admin")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", passwords["admin"])
    stack = Stack(StackConfig(run_dir=tmp_path, keys=local_keys(tmp_path / "local.env")), echo=False)
    for service in SERVICES:
        env = stack.env(service)
        assert env["KAFKA_SASL_USERNAME"] == service.name
        assert env["KAFKA_SASL_PASSWORD"] == passwords[service.name]
        others = {password for user, password in passwords.items() if user != service.name}
        assert not others & set(env.values()), f"{service.name} was handed another user's password"
    stack.config.ports = {"console": 8000, **{s.name: s.port for s in SERVICES}}
    recording = RecordingProcesses()
    stack.processes = recording  # type: ignore[assignment]
    stack.start_app(APPS[0])
    _, console_env = recording.started[f"{APPS[0].name}-web"]
    assert not set(passwords.values()) & set(console_env.values()), "the console needs no broker user"


def test_processes_starting_together_agree_on_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "local.env"
    seen: list[dict[str, str]] = []
    threads = [threading.Thread(target=lambda: seen.append(local_keys(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(keys == seen[0] for keys in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["local.env"]  # no drafts left behind


def test_a_key_in_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SIGNING_KEY", "from-the-environment")
    assert jwt_signing_key(tmp_path / "local.env") == "from-the-environment"


class RecordingProcesses:
    def __init__(self) -> None:
        self.started: dict[str, tuple[list[str], dict[str, str]]] = {}

    def start(self, name: str, command: list[str], *, env: dict[str, str], cwd: Any = None) -> None:
        self.started[name] = (command, env)


def started_webs(tmp_path: Path, web_workers: int) -> tuple[Stack, RecordingProcesses]:
    keys = local_keys(tmp_path / "local.env")
    stack = Stack(StackConfig(run_dir=tmp_path, web_workers=web_workers, keys=keys), echo=False)
    recording = RecordingProcesses()
    stack.processes = recording  # type: ignore[assignment]
    for service in SERVICES:
        stack.start_web(service)
    return stack, recording


def test_every_process_gets_the_keys_and_runs_gunicorn_with_the_shared_config(tmp_path: Path) -> None:
    stack, recording = started_webs(tmp_path, web_workers=2)
    for command, env in recording.started.values():
        assert {name: env[name] for name in NAMES} == stack.config.keys
        assert command[command.index("--config") + 1] == "python:saga_common.web.gunicorn_conf"
        assert env["METRICS_PORT"] == "0"  # two worker processes could not share one port
    assert {name: stack.env(SERVICES[0])[name] for name in NAMES} == stack.config.keys  # manage.py too


def test_a_single_process_web_serves_metrics_on_a_port_of_its_own(tmp_path: Path) -> None:
    stack, recording = started_webs(tmp_path, web_workers=1)
    ports = {name: int(env["METRICS_PORT"]) for name, (_, env) in recording.started.items()}
    assert ports == {f"{s.name}-web": stack.metrics_ports[f"{s.name}-web"] for s in SERVICES}
    assert len(set(ports.values())) == len(SERVICES)
    assert not set(ports.values()) & {s.port for s in SERVICES}


def test_a_started_process_keeps_its_own_broker_user_and_inherits_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real ProcessGroup, which adds this shell's environment: what the shell holds (every
    password after loading .run/local.env, the admin's user under make test) does not come back."""
    monkeypatch.setenv("KAFKA_PASSWORD_ADMIN", "the-admins-password")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "admin")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "the-admins-password")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    group = ProcessGroup(echo=False, log_dir=tmp_path)
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    group.start("probe", [sys.executable, "-c", script], env={"KAFKA_SASL_USERNAME": "orders"})
    group.processes["probe"].popen.wait(30)
    group.processes["probe"].pump.join(10)  # type: ignore[union-attr]
    seen = json.loads((tmp_path / "probe.log").read_text().strip().splitlines()[-1])
    assert seen["KAFKA_SASL_USERNAME"] == "orders"
    assert "KAFKA_SASL_PASSWORD" not in seen
    assert "KAFKA_PASSWORD_ADMIN" not in seen
    assert seen["SOMETHING_ELSE"] == "kept"
