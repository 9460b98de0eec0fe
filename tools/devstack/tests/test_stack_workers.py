"""StackConfig.workers: one worker process per service is "<service>-worker", as make up has always run
it; N are "<service>-worker-1" .. "-N", each with its own group member, metrics port and heartbeat file,
on topics with partitions enough for all of them."""

from pathlib import Path
from typing import Any

import pytest

from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig, worker_name


class RecordingProcesses:
    def __init__(self) -> None:
        self.started: dict[str, tuple[list[str], dict[str, str]]] = {}

    def start(self, name: str, command: list[str], *, env: dict[str, str], cwd: Any = None) -> None:
        self.started[name] = (command, env)


@pytest.fixture(autouse=True)
def no_partitions_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_TOPIC_PARTITIONS", raising=False)


def started(tmp_path: Path, workers: int) -> tuple[Stack, dict[str, tuple[list[str], dict[str, str]]]]:
    config = StackConfig(
        run_dir=tmp_path,
        workers=workers,
        keys={"JWT_SIGNING_KEY": "k", "DJANGO_SECRET_KEY": "s"},
        ports={s.name: 1 for s in SERVICES},  # the services only: no console
    )
    stack = Stack(config, echo=False)
    recording = RecordingProcesses()
    stack.processes = recording  # type: ignore[assignment]
    stack.start()
    workers_started = {name: v for name, v in recording.started.items() if "-worker" in name}
    return stack, workers_started


def test_one_worker_per_service_keeps_its_name_and_the_default_partitions(tmp_path: Path) -> None:
    stack, workers = started(tmp_path, workers=1)
    assert set(workers) == {f"{s.name}-worker" for s in SERVICES}
    assert all("KAFKA_TOPIC_PARTITIONS" not in env for _, env in workers.values())
    assert "KAFKA_TOPIC_PARTITIONS" not in stack.env(SERVICES[0])


def test_n_workers_per_service_are_numbered_and_distinct(tmp_path: Path) -> None:
    stack, workers = started(tmp_path, workers=4)
    assert set(workers) == {f"{s.name}-worker-{n}" for s in SERVICES for n in range(1, 5)}
    for key in ("METRICS_PORT", "WORKER_HEARTBEAT_FILE", "KAFKA_GROUP_INSTANCE_ID"):
        assert len({env[key] for _, env in workers.values()}) == len(workers), key
    assert {name: int(env["METRICS_PORT"]) for name, (_, env) in workers.items()} == {
        name: stack.metrics_ports[name] for name in workers
    }
    for name, (command, env) in workers.items():
        service = next(s for s in SERVICES if name.startswith(f"{s.name}-"))
        assert command[1:] == [str(service.manage_py), "run_worker"]  # as the single worker runs
        assert env["KAFKA_TOPIC_PARTITIONS"] == "4"
    assert stack.env(SERVICES[0])["KAFKA_TOPIC_PARTITIONS"] == "4"  # create_topics (manage.py) too


@pytest.mark.parametrize(
    ("workers", "inherited", "partitions"), [(2, None, "3"), (5, None, "5"), (2, "6", "6")]
)
def test_topics_get_partitions_for_every_worker(
    monkeypatch: pytest.MonkeyPatch, workers: int, inherited: str | None, partitions: str
) -> None:
    if inherited is not None:
        monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", inherited)
    config = StackConfig(workers=workers, keys={})
    assert config.topic_partitions() == {"KAFKA_TOPIC_PARTITIONS": partitions}
    assert config.worker_instances() == [str(n) for n in range(1, workers + 1)]


def test_worker_names() -> None:
    orders = SERVICES[0]
    assert worker_name(orders) == f"{orders.name}-worker"
    assert worker_name(orders, ("--only", "relay")) == f"{orders.name}-worker-relay"
    assert worker_name(orders, instance="2") == f"{orders.name}-worker-2"
