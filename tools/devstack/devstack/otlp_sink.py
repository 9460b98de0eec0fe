"""An OTLP/HTTP trace receiver inside this process: what the tracing suite and the bench export to.

Start it, give every process of a stack ``sink.env()`` (``StackConfig.extra_env``), and each of them
exports its spans here as it would to a collector: ``POST /v1/traces`` with an
``ExportTraceServiceRequest`` in protobuf (gzip or not). Each request is decoded with
opentelemetry-proto and its spans kept (``keep=False``: only counted, for long runs).
"""

import gzip
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUSES = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str  # "" for a trace's root
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    service: str  # the resource's service.name, e.g. orders-worker
    start_ns: int
    end_ns: int
    status: str  # UNSET, OK, ERROR
    attributes: dict[str, Any] = field(default_factory=dict)
    links: tuple[str, ...] = ()  # the trace ids it links to


class OtlpSink:
    """The receiver; ``start()`` it on a free port of 127.0.0.1, ``stop()`` it when done."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.requests = 0
        self.received = 0  # spans
        self.bytes = 0
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="otlp-sink")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self, schedule_delay_ms: int = 100) -> dict[str, str]:
        """What a process needs to export its spans here, whatever the environment it inherits says
        (every OTLP/HTTP exporter reads these)."""
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{self.endpoint}/v1/traces",
            "OTEL_BSP_SCHEDULE_DELAY": str(schedule_delay_ms),
        }

    def start(self) -> "OtlpSink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        spans = list(_decode(request))
        with self._lock:
            self.requests += 1
            self.received += len(spans)
            self.bytes += len(body)
            if self.keep:
                self._spans.extend(spans)


def _handler(sink: OtlpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            sink.receive(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per export would drown the test's output

    return Handler


def _decode(request: ExportTraceServiceRequest) -> Iterable[Span]:
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=KINDS.get(span.kind, str(span.kind)),
                    service=str(resource.get("service.name", "")),
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    status=STATUSES.get(span.status.code, str(span.status.code)),
                    attributes={a.key: _value(a.value) for a in span.attributes},
                    links=tuple(link.trace_id.hex() for link in span.links),
                )


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def span_tree(spans: list[Span]) -> str:
    """The spans as an indented tree, children in the order they started; a span's database queries
    (CLIENT spans) are counted on its line rather than listed."""
    children: dict[str, list[Span]] = {}
    ids = {span.span_id for span in spans}
    for span in sorted(spans, key=lambda s: s.start_ns):
        children.setdefault(span.parent_id if span.parent_id in ids else "", []).append(span)
    start = min((span.start_ns for span in spans), default=0)
    lines: list[str] = []

    def walk(span: Span, depth: int) -> None:
        queries = [child for child in children.get(span.span_id, []) if child.kind == "CLIENT"]
        outcomes = [span.attributes.get(name) for name in ("messaging.outcome", "saga.outcome")]
        lines.append(
            f"{'  ' * depth}{span.name}  [{span.service}, {span.kind.lower()}"
            + "".join(f", {outcome}" for outcome in outcomes if outcome)
            + (f", {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}" if queries else "")
            + f"] +{(span.start_ns - start) / 1e6:.1f} ms"
        )
        for child in children.get(span.span_id, []):
            if child.kind != "CLIENT":
                walk(child, depth + 1)

    for root in children.get("", []):
        walk(root, 0)
    return "\n".join(lines)
