"""The dashboards and the rules against real data: a stack of its own with Prometheus (scraping every
second), orders of each outcome, a dead letter and HTTP traffic without server errors; then every panel's
query (from the generated dashboards) and every rule's expression (from monitoring/prometheus/rules)
runs against that Prometheus and must return series. An alert's expr is rightly empty while nothing is
wrong, so its signals are queried instead (the convention of alerts.yml: `<signal> > <threshold>`), and
the whole expr must still parse. A panel or rule naming a metric or label no process exports fails
here."""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.broker import free_port
from devstack.dashboards import DASHBOARDS, DASHBOARDS_DIR
from devstack.prometheus import query, rules, signals, target_labels, wait_for
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig, running_stack
from e2e.client import SystemClient


@pytest.fixture(scope="module")
def fail_switch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists, the orchestrator fails on OrderCreated (and dead-letters it)."""
    return tmp_path_factory.mktemp("switches") / "fail-order-created"


@pytest.fixture(scope="module")
def monitored(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, fail_switch: Path
) -> Iterator[Stack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"mon-{uuid.uuid4().hex[:8]}.",
        database_prefix="mon_",
        ports={**{s.name: free_port() for s in SERVICES}, "console": free_port()},
        web_workers=1,
        run_dir=tmp_path_factory.mktemp("monitored"),
        prometheus_port=free_port(),
        scrape_interval=1.0,
        extra_env={
            "INBOX_MAX_ATTEMPTS": "2",
            "SAGA_FAIL_TYPES": "OrderCreated",
            "SAGA_FAIL_WHILE": str(fail_switch),
        },
    )
    with running_stack(config) as system:
        yield system


@pytest.fixture(scope="module")
def with_data(monitored: Stack, fail_switch: Path) -> str:
    """Orders of each outcome, a dead letter and console traffic, scraped: the Prometheus URL."""
    client = SystemClient({s.name: monitored.url(s.name) for s in SERVICES})
    customer = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer, credit_limit="500.00")
    placed = [
        client.place_order(customer, country="DE"),  # approved
        client.place_order(f"c-nobody-{uuid.uuid4().hex[:6]}"),  # declined: no account
        client.place_order(customer, country="AQ"),  # rejected by shipping, payment voided
    ]
    outcomes = sorted(client.wait_until_settled(order.id).status for order in placed)
    assert outcomes == ["APPROVED", "REJECTED", "REJECTED"]
    fail_switch.touch()
    try:
        lost = client.place_order(customer)  # its OrderCreated is dead-lettered by the orchestrator
        _eventually(lambda: client.shop.list_dead_letters("orchestrator", status="PENDING").results)
    finally:
        fail_switch.unlink()
    assert client.order(lost.id).status == "PENDING"
    for path in ("/signin", "/healthz/live", "/healthz/ready"):
        assert requests.get(f"{monitored.url('console')}{path}", timeout=5).status_code == 200
    url = monitored.prometheus_url
    for ready in (
        'saga_state:sagaref_saga_finished:rate5m{state="COMPLETED"}',
        'saga_state:sagaref_saga_finished:rate5m{state="COMPENSATED"}',
        'sagaref_dead_letter_messages{topic=~".*orders.events.dlq"} > 0',
        'job_status:sagaref_http_responses:rate5m{job="console-web"}',
    ):
        assert wait_for(url, ready, timeout=60), f"Prometheus never saw {ready}"
    client.close()
    return url


def _eventually(found: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def panel_queries() -> list[tuple[str, str]]:
    """(where, expr) of every query of every generated dashboard."""
    found = []
    for name in DASHBOARDS:
        document = json.loads((DASHBOARDS_DIR / f"{name}.json").read_text())
        for panel in document["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{name}: {panel['title']} ({target['refId']})", target["expr"]))
    return found


def returns_series(url: str, expr: str) -> list[dict[str, Any]]:
    """The series ``expr`` returns, waiting a little for the rules' first evaluations; fails on an
    expr Prometheus refuses."""
    answer = query(url, expr)
    assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
    return wait_for(url, expr, timeout=15)


@pytest.mark.parametrize(("where", "expr"), panel_queries(), ids=[w for w, _ in panel_queries()])
def test_every_panel_shows_real_data(with_data: str, where: str, expr: str) -> None:
    assert returns_series(with_data, expr), f"{where}: {expr} returns nothing"


@pytest.mark.parametrize("rule", rules("record"), ids=[r["record"] for r in rules("record")])
def test_every_recording_rule_computes_from_real_data(with_data: str, rule: dict[str, Any]) -> None:
    assert returns_series(with_data, rule["expr"]), f"{rule['record']}: {rule['expr']} returns nothing"
    assert returns_series(with_data, rule["record"]), f"Prometheus records no {rule['record']}"


@pytest.mark.parametrize("rule", rules("alert"), ids=[r["alert"] for r in rules("alert")])
def test_every_alert_watches_real_signals(with_data: str, rule: dict[str, Any]) -> None:
    whole = query(with_data, rule["expr"])
    assert whole["status"] == "success", f"{rule['alert']}: {whole.get('error')}"
    for signal in signals(rule["expr"]):
        assert returns_series(with_data, signal), f"{rule['alert']}: its signal {signal} returns nothing"


def test_nothing_is_wrong_so_no_alert_fires_but_the_dead_letter(with_data: str) -> None:
    # Pending counts too: most alerts wait minutes ("for:") before firing, longer than this suite runs,
    # so an alert that is always true would otherwise sit pending and pass.
    active = {
        alert["labels"]["alertname"]
        for alert in requests.get(f"{with_data}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        if alert["state"] in ("firing", "pending")
    }
    assert active <= {"DeadLettersArrived"}


def test_prometheus_scrapes_every_process_and_each_is_up(monitored: Stack, with_data: str) -> None:
    targets = requests.get(f"{with_data}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    assert all(target["health"] == "up" for target in targets), [
        (t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"
    ]
    scraped = {
        (t["labels"]["job"], t["labels"]["service"], t["labels"]["process"], t["labels"]["instance"])
        for t in targets
    }
    expected = {
        (labels["job"], labels["service"], labels["process"], f"127.0.0.1:{port}")
        for name, port in monitored.metrics_ports.items()
        for labels in [target_labels(name)]
    }
    assert scraped == expected
    jobs = {job for job, *_ in scraped}
    assert jobs == {f"{s.name}-{p}" for s in SERVICES for p in ("web", "worker")} | {"console-web"}
