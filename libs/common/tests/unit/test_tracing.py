"""Tracing's set-up from the OTEL_* variables, the sampler that keeps database queries from starting traces
of their own, and the log lines that name their span (the services' and gunicorn's)."""

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.glogging import SafeAtoms  # type: ignore[import-untyped]
from opentelemetry import trace
from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import NoOpTracer, SpanKind, format_span_id, format_trace_id
from pythonjsonlogger.json import JsonFormatter

from saga_common.observability import tracing
from saga_common.observability.logs import ContextFilter, gunicorn_logging_config
from saga_common.observability.sampling import NoRootDatabaseSpans

PARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracing as a process starts: not configured yet."""
    monkeypatch.setattr(tracing, "_state", tracing._State())


@pytest.mark.usefixtures("fresh_process")
def test_with_no_exporter_configured_the_tracer_is_the_no_op_one() -> None:
    assert tracing.configure("orders-worker", environ={}) is False
    assert isinstance(tracing.tracer(), NoOpTracer)
    assert not tracing.enabled()
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # nothing installed globally
    assert not Psycopg2Instrumentor().is_instrumented_by_opentelemetry
    with tracing.tracer().start_as_current_span("work") as span:
        assert not span.is_recording()
        assert tracing.inject() == {}  # no trace is made up
    # yet a context that came in is passed on as it is: a trace goes through a process that records none
    with trace.use_span(
        tracing.tracer().start_span("handle", context=tracing.extract({"traceparent": PARENT}))
    ):
        assert tracing.inject() == {"traceparent": PARENT}
    assert tracing.configure("orders-worker", environ=ENDPOINT) is False  # once per process


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, []),
        (ENDPOINT, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_the_exporters_come_from_the_standard_variables(
    environ: dict[str, str], exporters: list[str]
) -> None:
    assert tracing.exporter_names(environ) == exporters
    assert (tracing.build_provider("orders-web", environ) is not None) == bool(exporters)


def test_an_exporter_we_do_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="zipkin"):
        tracing.exporter_names({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_the_service_is_named_after_the_service_and_role_unless_otel_service_name_says() -> None:
    provider = tracing.build_provider("payments-worker", ENDPOINT)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "payments-worker"
    assert isinstance(provider.sampler, NoRootDatabaseSpans)
    named = tracing.build_provider("payments-worker", {**ENDPOINT, "OTEL_SERVICE_NAME": "pay"})
    assert named is not None
    assert named.resource.attributes["service.name"] == "pay"


def test_a_database_query_is_recorded_only_inside_a_trace() -> None:
    sampler = NoRootDatabaseSpans(ALWAYS_ON)
    inside = tracing.extract({"traceparent": PARENT})

    def decision(kind: SpanKind, parent: Any = None) -> Decision:
        return sampler.should_sample(parent, 1, "SELECT", kind).decision

    assert decision(SpanKind.CLIENT) is Decision.DROP  # the relay's poll, housekeeping's sweep
    assert decision(SpanKind.CLIENT, inside) is Decision.RECORD_AND_SAMPLE  # a request's or a message's
    assert decision(SpanKind.SERVER) is decision(SpanKind.PRODUCER) is Decision.RECORD_AND_SAMPLE


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("traced-code")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_a_line_logged_inside_a_span_names_its_trace_and_span(json_lines: io.StringIO) -> None:
    logger = logging.getLogger("traced-code")
    with TracerProvider().get_tracer("test").start_as_current_span("work") as span:
        logger.info("inside")
    logger.info("outside")
    inside, outside = (json.loads(line) for line in json_lines.getvalue().splitlines())
    context = span.get_span_context()
    assert (inside["trace_id"], inside["span_id"]) == (
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
    )
    assert "trace_id" not in outside
    assert "span_id" not in outside


@pytest.fixture
def gunicorn_access() -> Iterator[io.StringIO]:
    """gunicorn's access logger configured with its logconfig_dict, writing to a buffer."""
    stream = io.StringIO()
    config = gunicorn_logging_config("json", "INFO")
    config["handlers"]["access"]["stream"] = stream
    del config["root"]  # the test runner's own logging stays as it is
    logging.config.dictConfig(config)
    yield stream
    for name in ("gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).handlers.clear()


def test_gunicorns_access_line_is_json_with_the_request_its_correlation_id_and_trace(
    gunicorn_access: io.StringIO,
) -> None:
    # as gunicorn's glogging.Logger.access logs a request: its format, with the request's atoms
    atoms = {"m": "POST", "U": "/api/v1/orders", "q": "", "s": "201", "D": 12_345, "M": 12}
    atoms |= {"{x-correlation-id}o": "corr-1", "{traceresponse}o": PARENT}
    logging.getLogger("gunicorn.access").info("%(m)s %(U)s %(s)s %(M)sms", SafeAtoms(atoms))
    line = json.loads(gunicorn_access.getvalue())
    assert {k: line[k] for k in ("message", "logger", "method", "path", "status", "duration_ms")} == {
        "message": "POST /api/v1/orders 201 12ms",
        "logger": "gunicorn.access",
        "method": "POST",
        "path": "/api/v1/orders",
        "status": 201,
        "duration_ms": 12.345,
    }
    assert (line["correlation_id"], line["trace_id"], line["span_id"]) == ("corr-1", "a" * 32, "b" * 16)
    assert "query" not in line


@pytest.mark.usefixtures("fresh_process")
def test_the_standard_variable_leaves_an_instrumentation_out(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[str] = []
    monkeypatch.setattr(tracing, "build_provider", lambda *args: TracerProvider())
    monkeypatch.setattr(trace, "set_tracer_provider", lambda provider: None)  # the process's stays as it is
    monkeypatch.setattr(Psycopg2Instrumentor, "instrument", lambda self, **kw: installed.append("psycopg2"))
    environ = {**ENDPOINT, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "psycopg2"}
    assert tracing.configure("orders-worker", database=True, environ=environ) is True
    assert installed == []
