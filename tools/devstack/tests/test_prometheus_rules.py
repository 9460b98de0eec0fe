"""The alerting and recording rules (monitoring/prometheus/rules): promtool checks them and runs their unit
tests (monitoring/prometheus/tests), which cover every rule, alerts firing and not; each alert says what
to do; and a broken rule fails. promtool comes with Debian's prometheus package, which `make test`
installs (tools/devstack/install-prometheus.sh)."""

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.prometheus import RULE_TESTS_DIR, RULES_DIR, promtool, rule_files, rules, signals

CONSOLE_PAGES = ("/ops/sagas", "/ops/messaging", "/ops/dead-letters")
# The labels every target carries (devstack's static configs, the PodMonitors' relabelings).
TARGET_LABELS = {"job", "instance", "service", "process"}


@pytest.fixture(scope="module", autouse=True)
def _promtool_installed() -> None:
    if shutil.which("promtool") is None:
        pytest.fail(
            "promtool is missing: `make test` installs it (bash tools/devstack/install-prometheus.sh)"
        )


def without_annotations(tmp_path: Path) -> Path:
    """A copy of monitoring/prometheus whose alerts have no annotations, for the unit tests: promtool
    compares an alert's annotations too, and the tests say when an alert fires and with which labels,
    not its prose (checked by test_every_alert_says_what_is_wrong_and_what_to_do)."""
    copy = tmp_path / "prometheus"
    shutil.copytree(RULES_DIR.parent, copy)
    for path in rule_files(copy / "rules"):
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def unit_tests(directory: Path = RULE_TESTS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yml"))


def test_promtool_accepts_every_rule_file() -> None:
    checked = promtool("check", "rules", *map(str, rule_files()))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS") == len(rule_files())


def test_the_unit_tests_pass(tmp_path: Path) -> None:
    copy = without_annotations(tmp_path)
    ran = promtool("test", "rules", *(path.name for path in unit_tests()), cwd=copy / "tests")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.count("SUCCESS") == len(unit_tests())


def test_every_rule_has_unit_tests_every_alert_firing_and_not() -> None:
    cases = [case for path in unit_tests() for case in yaml.safe_load(path.read_text())["tests"]]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    queried = " ".join(check["expr"] for case in cases for check in case.get("promql_expr_test", []))
    for alert in (rule["alert"] for rule in rules("alert")):
        assert alert in firing, f"no unit test where {alert} fires"
        assert alert in quiet, f"no unit test where {alert} stays quiet"
    for record in (rule["record"] for rule in rules("record")):
        assert re.search(rf"\b{re.escape(record)}\b", queried), f"no unit test of {record}"


def test_a_broken_rule_fails_its_unit_tests(tmp_path: Path) -> None:
    copy = without_annotations(tmp_path)
    alerts = copy / "rules" / "alerts.yml"
    text = alerts.read_text()
    assert 'sagaref_sagas{state="FAILED"}) > 0' in text
    alerts.write_text(
        text.replace('sagaref_sagas{state="FAILED"}) > 0', 'sagaref_sagas{state="FAILED"}) > 1')
    )
    ran = promtool("test", "rules", "sagas_test.yml", cwd=copy / "tests")
    assert ran.returncode != 0
    assert "alertname: SagaFailed" in ran.stdout + ran.stderr


def test_a_rule_that_does_not_parse_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum by (saga (x) > 0"}]}]})
    )
    checked = promtool("check", "rules", str(broken))
    assert checked.returncode != 0
    assert "parse error" in checked.stdout + checked.stderr


def alert_labels(rule: dict[str, Any]) -> set[str]:
    """The labels an alert's series carry: its own, and those its expr keeps (`by (...)`), or every
    target label when it aggregates nothing away."""
    kept = re.match(r"\s*\w+ by \(([^)]*)\)", rule["expr"])
    from_expr = {label.strip() for label in kept.group(1).split(",")} if kept else TARGET_LABELS
    if rule["expr"].lstrip().startswith("job:"):  # a recording rule's output: by (job, service)
        from_expr = {"job", "service"}
    return from_expr | set(rule.get("labels", {}))


def test_every_alert_says_what_is_wrong_and_what_to_do() -> None:
    for rule in rules("alert"):
        name, annotations = rule["alert"], rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook"}, name
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        runbook = annotations["runbook"]
        assert "docs/operations.md" in runbook, f"{name}: its runbook points to no documentation"
        assert re.search(r"^1\. .+^2\. ", runbook, re.MULTILINE | re.DOTALL), f"{name}: no steps"
        if rule["alert"] not in ("WebDown", "WorkerHeartbeatStale", "WorkerDown", "HttpServerErrors"):
            assert any(page in runbook for page in CONSOLE_PAGES), f"{name}: no console page to open"
        used = set(re.findall(r"\$labels\.(\w+)", " ".join(annotations.values())))
        assert used <= alert_labels(rule), f"{name} uses labels its alerts lack: {used - alert_labels(rule)}"


def test_the_runbooks_together_lead_to_every_console_page() -> None:
    runbooks = " ".join(rule["annotations"]["runbook"] for rule in rules("alert"))
    for page in CONSOLE_PAGES:
        assert page in runbooks


def test_every_alert_compares_a_signal_to_a_threshold() -> None:
    """The convention of alerts.yml, which e2e/tests/test_monitoring.py relies on to query each
    alert's signal on a real stack."""
    for rule in rules("alert"):
        assert signals(rule["expr"]), rule["alert"]


@pytest.mark.parametrize(
    "expr",
    ["sagaref_sagas", "max(x > 1)", "x > y", "sum(x) > 1 or y > 2"],
)
def test_an_alert_without_a_signal_and_threshold_is_refused(expr: str) -> None:
    with pytest.raises(ValueError, match=r"comparison|threshold"):
        signals(expr)


def test_a_signal_keeps_its_selectors_and_functions() -> None:
    assert signals('max by (a) (x{state="FAILED",le=">1"}) > 0 and rate(y[5m]) >= 2') == [
        'max by (a) (x{state="FAILED",le=">1"})',
        "rate(y[5m])",
    ]
