"""Prometheus beside the local stack, and the repository's rules (``monitoring/prometheus/rules``).

``make up`` runs Debian's ``prometheus`` (``tools/devstack/install-prometheus.sh``) as one more process:
it scrapes every web, worker and the console of the stack (their ``metrics_ports``) and evaluates the
repository's rules, as a cluster's Prometheus does with k8s/components/prometheus-operator.

Every target is labelled as in a cluster: ``job="<service>-<process>"`` (orders-web, orders-worker,
console-web), ``service`` and ``process`` (web or worker); ``instance`` is its address. The rules and
dashboards group by these.
"""

import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
import yaml

from devstack.services import APPS, REPO_ROOT, SERVICES

MONITORING = REPO_ROOT / "monitoring"
RULES_DIR = MONITORING / "prometheus" / "rules"
RULE_TESTS_DIR = MONITORING / "prometheus" / "tests"
PORT = 9090  # make up's; the tests pick free ports


# --- the rules ------------------------------------------------------------------------------------


def rule_files(rules_dir: Path = RULES_DIR) -> list[Path]:
    return sorted(rules_dir.glob("*.yml"))


def rule_groups(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """Every group of every rule file, in file order."""
    return [group for path in rule_files(rules_dir) for group in yaml.safe_load(path.read_text())["groups"]]


def rules(kind: str, rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """The rules of ``kind`` ("alert" or "record"), each as written in its file."""
    return [rule for group in rule_groups(rules_dir) for rule in group["rules"] if kind in rule]


_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _top_level(expr: str) -> Iterable[int]:
    """The positions of ``expr`` outside any (), {}, [] and string literal."""
    depth, quote, escaped = 0, "", False
    for position, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            yield position


def signals(expr: str) -> list[str]:
    """The signals of an alert's expr, written ``<signal> <comparison> <threshold>`` (or several such
    joined by ``and``): what it watches, which returns series whenever the system runs, while the
    whole expr is (rightly) empty when nothing is wrong. Raise ValueError for another shape."""
    expr = " ".join(expr.split())
    parts, start = [], 0
    for position in _top_level(expr):
        match = _AND.match(expr, position) if expr[position] == " " else None
        if match is not None and position >= start:
            parts.append(expr[start:position])
            start = match.end()
    parts.append(expr[start:])
    found = []
    for part in parts:
        at = next((p for p in _top_level(part) if _COMPARISON.match(part, p)), None)
        if at is None:
            raise ValueError(f"no comparison at the top level of {part!r}")
        operator = _COMPARISON.match(part, at)
        assert operator is not None
        threshold = part[operator.end() :].strip()
        try:
            float(threshold)
        except ValueError:
            raise ValueError(f"{part!r}: the threshold {threshold!r} is not a number") from None
        found.append(part[:at].strip())
    return found


def prometheus_rule(groups: list[dict[str, Any]]) -> str:
    """The rule ``groups`` as one PrometheusRule (the Prometheus Operator's resource), as YAML."""
    document: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "sagaref", "labels": {"app.kubernetes.io/part-of": "saga"}},
        "spec": {"groups": groups},
    }
    header = (
        "# Generated from monitoring/prometheus/rules by `make dashboards`: do not edit by hand.\n"
        "# The same alerting and recording rules as the local Prometheus of `make up`.\n"
    )
    return header + yaml.dump(document, Dumper=_BlockStrings, sort_keys=False, width=120)


class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (the runbooks) as literal blocks, as they are written in the rule files."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockStrings.add_representer(str, _string)


# --- the local server -----------------------------------------------------------------------------


def target_labels(process_name: str) -> dict[str, str]:
    """A stack process's labels: ``orders-worker-relay`` is job orders-worker, service orders."""
    for name in sorted([s.name for s in SERVICES] + [a.name for a in APPS], key=len, reverse=True):
        process = process_name.removeprefix(f"{name}-").split("-")[0]
        if process_name.startswith(f"{name}-") and process in ("web", "worker"):
            return {"job": f"{name}-{process}", "service": name, "process": process}
    raise ValueError(f"{process_name} is no web or worker of services.json")


def config(metrics_ports: Mapping[str, int], *, interval: float) -> dict[str, Any]:
    """prometheus.yml scraping each process of ``metrics_ports`` (name -> port), with the rules."""
    jobs: dict[str, dict[str, Any]] = {}
    for name, port in sorted(metrics_ports.items()):
        labels = target_labels(name)
        job = jobs.setdefault(labels["job"], {"job_name": labels["job"], "static_configs": []})
        job["static_configs"].append(
            {
                "targets": [f"127.0.0.1:{port}"],
                "labels": {"service": labels["service"], "process": labels["process"]},
            }
        )
    return {
        "global": {"scrape_interval": f"{interval:g}s", "evaluation_interval": f"{interval:g}s"},
        "rule_files": [str(path) for path in rule_files()],
        "scrape_configs": list(jobs.values()),
    }


def binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise RuntimeError("prometheus is not installed: run tools/devstack/install-prometheus.sh")
    return found


def command(directory: Path, port: int) -> list[str]:
    """Prometheus on 127.0.0.1:``port``, with its configuration and data under ``directory``."""
    return [
        binary(),
        f"--config.file={directory / 'prometheus.yml'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={directory / 'data'}",
        "--storage.tsdb.retention.time=2d",
        "--web.enable-lifecycle",  # curl -X POST .../-/reload after editing a rule
        "--log.level=warn",  # its start-up lines would drown the stack's in make up
    ]


def write_config(directory: Path, metrics_ports: Mapping[str, int], *, interval: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(
        "# Written by devstack (tools/devstack/devstack/prometheus.py) for this stack: do not edit.\n"
        + yaml.safe_dump(config(metrics_ports, interval=interval), sort_keys=False)
    )
    return path


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def query(url: str, promql: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """The answer of Prometheus's instant query API (``status``, ``data``; ``error`` if it failed)."""
    answer: dict[str, Any] = requests.get(
        f"{url}/api/v1/query", params={"query": promql}, timeout=timeout
    ).json()
    return answer


def wait_for(url: str, promql: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The series of ``promql`` once it has any (scrapes and rule evaluations take their time)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = query(url, promql)
        result: list[dict[str, Any]] = answer.get("data", {}).get("result", [])
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    if found is None:
        raise RuntimeError("promtool is not installed: run tools/devstack/install-prometheus.sh")
    return subprocess.run([found, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
