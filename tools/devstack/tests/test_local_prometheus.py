"""The Prometheus beside the local stack: started last, on the stack's port, with a configuration that
names every process with a metrics port under the labels the rules expect, and the repository's rules."""

from pathlib import Path

import yaml

from devstack.prometheus import RULES_DIR, config, target_labels
from devstack.services import APPS, SERVICES
from devstack.stack import Stack, StackConfig
from tests.test_local_stack_keys import RecordingProcesses


def test_the_stack_starts_prometheus_scraping_every_web_worker_and_the_console(tmp_path: Path) -> None:
    stack = Stack(
        StackConfig(run_dir=tmp_path, web_workers=1, prometheus_port=19090, scrape_interval=2.0, keys={}),
        echo=False,
    )
    recording = RecordingProcesses()
    stack.processes = recording  # type: ignore[assignment]
    stack.start()
    assert list(recording.started)[-1] == "prometheus"
    command, _ = recording.started["prometheus"]
    assert "--web.listen-address=127.0.0.1:19090" in command
    written = yaml.safe_load((tmp_path / "prometheus" / "prometheus.yml").read_text())
    assert written["global"] == {"scrape_interval": "2s", "evaluation_interval": "2s"}
    assert written["rule_files"] == [str(path) for path in sorted(RULES_DIR.glob("*.yml"))]
    targets = {
        (job["job_name"], target, static["labels"]["service"], static["labels"]["process"])
        for job in written["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    expected = {(f"{s.name}-{p}", s.name, p) for s in SERVICES for p in ("web", "worker")}
    expected |= {(f"{a.name}-web", a.name, "web") for a in APPS}
    assert {(job, service, process) for job, _, service, process in targets} == expected
    assert {target for _, target, _, _ in targets} == {
        f"127.0.0.1:{port}" for port in stack.metrics_ports.values()
    }


def test_no_prometheus_unless_asked(tmp_path: Path) -> None:
    stack = Stack(StackConfig(run_dir=tmp_path, keys={}), echo=False)
    recording = RecordingProcesses()
    stack.processes = recording  # type: ignore[assignment]
    stack.start()
    assert "prometheus" not in recording.started
    assert stack.config.prometheus_port == 0


def test_a_further_worker_is_a_target_of_its_services_job() -> None:
    assert target_labels("orders-worker-relay") == {
        "job": "orders-worker",
        "service": "orders",
        "process": "worker",
    }
    jobs = config({"orders-worker": 1, "orders-worker-2": 2}, interval=5)["scrape_configs"]
    assert [(j["job_name"], [s["targets"] for s in j["static_configs"]]) for j in jobs] == [
        ("orders-worker", [["127.0.0.1:1"], ["127.0.0.1:2"]])
    ]
