"""Jaeger beside the local stack: ``make up TRACING=1`` runs it and points every process at it.

Jaeger v2 is one binary (an OpenTelemetry Collector with Jaeger's extensions), built from the Go module
proxy at the release tools/go/jaeger pins (``make jaeger``). It receives OTLP over HTTP, keeps traces in
memory, and answers Jaeger's query API (``/api/traces/<id>``, ``/api/services``). Its web UI is a
separate JavaScript project (jaegertracing/jaeger-ui) that neither the Go module proxy nor npm serves,
built or not, so the binary has Jaeger's placeholder page where the UI would be. The console's trace
link (``TRACE_URL_TEMPLATE``) opens the console's own trace page instead, which draws the trace from
the query API (``TRACE_QUERY_URL``; console.traces).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from devstack.services import REPO_ROOT

BINARY = REPO_ROOT / ".run" / "tools" / "bin" / "jaeger"


@dataclass(frozen=True)
class JaegerPorts:
    """make up's are Jaeger's usual ones; a test asks for free ports."""

    query: int = 16686  # the query API (and the UI, where it is built in)
    otlp_http: int = 4318
    health: int = 13133

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.query}"

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.otlp_http}"


def stack_environment(ports: JaegerPorts) -> dict[str, str]:
    """What every process of a traced stack gets: where to export spans, and (the console) where a
    saga's trace link points and where the trace page reads traces."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": ports.otlp_endpoint,
        "TRACE_URL_TEMPLATE": "/ops/traces/{trace_id}",
        "TRACE_QUERY_URL": ports.query_url,
    }


def config(ports: JaegerPorts) -> dict[str, object]:
    """The all-in-one configuration (cmd/jaeger/internal/all-in-one.yaml) cut to what the stack uses:
    OTLP over HTTP in, memory storage, the query API, a health check; every port on loopback, and
    Jaeger's own metrics off (its port 8888 would clash between two stacks)."""
    address = "127.0.0.1"
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {"resource": {"service.name": "jaeger"}, "metrics": {"level": "none"}},
        },
        "extensions": {
            "jaeger_query": {
                "storage": {"traces": "memory"},
                "http": {"endpoint": f"{address}:{ports.query}"},
                "grpc": {"endpoint": f"{address}:0"},
            },
            "jaeger_storage": {"backends": {"memory": {"memory": {"max_traces": 100_000}}}},
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"{address}:{ports.health}"}},
        },
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"{address}:{ports.otlp_http}"}}}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memory"}},
    }


def command(directory: Path, ports: JaegerPorts) -> list[str]:
    """The command line, with its configuration written to ``directory``/config.yaml."""
    if not BINARY.exists():
        raise FileNotFoundError(f"no Jaeger at {BINARY.relative_to(REPO_ROOT)}: run `make jaeger`")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config(ports), sort_keys=False))
    return [str(BINARY), "--config", str(path)]


def ready(ports: JaegerPorts) -> bool:
    try:
        health = requests.get(f"http://127.0.0.1:{ports.health}/status", timeout=1)
        services = requests.get(f"{ports.query_url}/api/services", timeout=1)
    except requests.RequestException:
        return False
    return health.ok and services.ok


def trace_spans(query_url: str, trace_id: str, timeout: float = 2.0) -> list[dict[str, object]]:
    """The spans Jaeger holds of ``trace_id`` (none if it has not seen it), each with its ``process``
    (``serviceName``) resolved."""
    response = requests.get(f"{query_url}/api/traces/{trace_id}", timeout=timeout)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    spans: list[dict[str, object]] = []
    for trace in response.json().get("data") or []:
        processes = trace.get("processes", {})
        spans += [span | {"process": processes.get(span.get("processID"), {})} for span in trace["spans"]]
    return spans


def wait_ready(ports: JaegerPorts, running: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until Jaeger answers; ``running`` tells that the process we started is alive (else
    another Jaeger on the same ports would pass for ours)."""
    deadline = time.monotonic() + timeout
    while not ready(ports):
        if not running():
            raise RuntimeError(f"Jaeger exited during start-up (ports {ports}: taken by another?)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"Jaeger not ready on {ports.query_url} after {timeout}s")
        time.sleep(0.2)
