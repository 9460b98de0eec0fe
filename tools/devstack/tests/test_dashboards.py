"""The Grafana dashboards and the Kubernetes PrometheusRule are what `make dashboards` generates (no drift),
every panel queries valid PromQL through the data source variable, and the dashboards show every
recording rule. e2e/tests/test_monitoring.py runs the same queries on a real stack."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import dashboards
from devstack.prometheus import promtool, rule_groups, rules


def panels(name: str) -> list[dict[str, Any]]:
    document = json.loads((dashboards.DASHBOARDS_DIR / f"{name}.json").read_text())
    return [panel for panel in document["panels"] if panel["type"] != "row"]


def queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) of every query of every checked-in dashboard."""
    return [
        (name, panel["title"], target["expr"])
        for name in dashboards.DASHBOARDS
        for panel in panels(name)
        for target in panel["targets"]
    ]


def test_the_checked_in_files_are_what_the_code_generates() -> None:
    drifted = [
        str(path.relative_to(dashboards.REPO_ROOT))
        for path, text in dashboards.rendered().items()
        if not path.exists() or path.read_text() != text
    ]
    assert drifted == [], "run `make dashboards` and commit the result"
    assert {p.name for p in dashboards.DASHBOARDS_DIR.glob("*.json")} == {"sagas.json", "messaging.json"}


def test_a_changed_rule_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    groups = rule_groups()
    groups[0]["rules"][0]["for"] = "1h"
    monkeypatch.setattr(dashboards, "rule_groups", lambda: groups)
    drifted = [p.name for p, text in dashboards.rendered().items() if p.read_text() != text]
    assert drifted == ["prometheus-rule.yaml"]


def test_the_prometheus_rule_holds_the_rule_files() -> None:
    document = yaml.safe_load((dashboards.OPERATOR_COMPONENT / "prometheus-rule.yaml").read_text())
    assert document["kind"] == "PrometheusRule"
    assert document["spec"]["groups"] == rule_groups()


@pytest.mark.parametrize("name", sorted(dashboards.DASHBOARDS))
def test_every_panel_reads_the_chosen_data_source(name: str) -> None:
    document = json.loads((dashboards.DASHBOARDS_DIR / f"{name}.json").read_text())
    (variable,) = document["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    assert document["uid"] == f"sagaref-{name}"
    ids = [panel["id"] for panel in document["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in panels(name):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["description"], panel["title"]
        for target in panel["targets"]:
            assert "$" not in target["expr"], f"{panel['title']}: no Grafana variable, so it runs anywhere"


def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses PromQL offline in rule files: each query as a recording rule."""
    checked = tmp_path / "panels.yml"
    recorded = [{"record": f"panel:query_{n}", "expr": expr} for n, (_, _, expr) in enumerate(queries())]
    checked.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": recorded}]}))
    result = promtool("check", "rules", str(checked))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboards_show_every_recording_rule_and_the_gauges_alerts_watch() -> None:
    shown = " ".join(expr for _, _, expr in queries())
    for record in (rule["record"] for rule in rules("record")):
        assert re.search(rf"\b{re.escape(record)}\b", shown), f"no panel shows {record}"
    for gauge in ("sagaref_sagas", "sagaref_sagas_overdue", "sagaref_outbox_oldest_age_seconds"):
        assert re.search(rf"\b{gauge}\b", shown), f"no panel shows {gauge}"
