"""Tracing with OpenTelemetry: one trace per order, from its POST through every service to its end.

**Set up once per process** (``configure``), from the standard ``OTEL_*`` variables: the web in its
gunicorn worker process, before Django builds its middleware (``saga_common.web.wsgi``), the worker as
it starts (``saga_common.worker``). Spans are exported when ``OTEL_TRACES_EXPORTER`` names ``otlp``
and/or ``console``, or, with it unset, when an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). Otherwise (``none``, or nothing set) nothing is installed:
the API's no-op tracer and no instrumentation, so tracing costs nothing measurable. Even then a
process passes on the trace context it received: the no-op tracer's spans carry their parent's
context, so a trace goes through a process that records nothing of it.

**When on**: a TracerProvider named ``OTEL_SERVICE_NAME`` (default ``<service>-<web|worker>``), a
BatchSpanProcessor per exporter (``OTEL_BSP_*``; ``shutdown`` exports what is left: gunicorn's
``worker_exit``, the worker's end), the sampler ``OTEL_TRACES_SAMPLER`` names wrapped so database
spans never start a trace (``saga_common.observability.sampling``), and the official instrumentations:
Django (a SERVER span per request, but not for the probes' ``/healthz/``: see
``OTEL_PYTHON_DJANGO_EXCLUDED_URLS``) and psycopg2 (a CLIENT span per query), either left out when
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` names it.

**Across Kafka** the context travels in the W3C headers ``traceparent`` and ``tracestate`` of every
message (``inject``, ``extract``), written with OpenTelemetry's TraceContextTextMapPropagator: the
message contract names these headers (docs/contract.md), so they do not follow ``OTEL_PROPAGATORS``,
which HTTP requests do. Where each span starts is said in docs/operations.md ("Tracing").
"""

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracer, Tracer, format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

EXPORTERS = ("otlp", "console", "none")
# Requests not worth a trace: the probes, several a minute per pod. A comma-separated list of regular
# expressions searched in the URL; OTEL_PYTHON_DJANGO_EXCLUDED_URLS (or OTEL_PYTHON_EXCLUDED_URLS)
# replaces it.
DEFAULT_EXCLUDED_URLS = "/healthz/"

_W3C = TraceContextTextMapPropagator()
_lock = threading.Lock()


class _State:
    configured = False
    provider: "TracerProvider | None" = None
    tracer: Tracer = NoOpTracer()


_state = _State()


# --- set-up --------------------------------------------------------------------------------------


def configure(
    service_name: str,
    *,
    django: bool = False,
    database: bool = True,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Set tracing up for this process, once (later calls change nothing); True if spans are exported.

    ``service_name`` is the default of ``OTEL_SERVICE_NAME``; ``django`` instruments Django (a web, before
    its handler is built), ``database`` psycopg2 (any process with a database).
    """
    environ = os.environ if environ is None else environ
    with _lock:
        if _state.configured:
            return _state.provider is not None
        _state.configured = True
        provider = build_provider(service_name, environ)
        if provider is None:
            return False
        trace.set_tracer_provider(provider)
        _use(provider)
        _instrument(django=django, database=database, environ=environ)
    logger.info("tracing on: spans exported by %s", ", ".join(exporter_names(environ)))
    return True


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters asked for: ``OTEL_TRACES_EXPORTER``, or when unset ``otlp`` if an OTLP endpoint is
    set (none otherwise: unlike the SDK's default, an unset variable exports nothing anywhere)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [
        name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()
    ]
    if not names:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint else []
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        raise ValueError(f"OTEL_TRACES_EXPORTER: {', '.join(unknown)} is not one of {', '.join(EXPORTERS)}")
    return [] if "none" in names else names


def build_provider(service_name: str, environ: Mapping[str, str]) -> "TracerProvider | None":
    """The TracerProvider the environment asks for, or None when no exporter is configured."""
    names = exporter_names(environ)
    if not names:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from saga_common.observability.sampling import NoRootDatabaseSpans

    name = environ.get("OTEL_SERVICE_NAME") or service_name
    # OTEL_RESOURCE_ATTRIBUTES may name the service too (Resource.create reads it): then it stands.
    named_there = "service.name=" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").replace(" ", "")
    resource = Resource.create(
        {} if named_there and "OTEL_SERVICE_NAME" not in environ else {SERVICE_NAME: name}
    )
    provider = TracerProvider(resource=resource)
    # The provider read OTEL_TRACES_SAMPLER (parentbased_always_on by default); wrapped before any
    # tracer is made, since each tracer keeps the sampler it was given.
    provider.sampler = NoRootDatabaseSpans(provider.sampler)
    for exporter in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(exporter, environ)))
    return provider


def _exporter(name: str, environ: Mapping[str, str]) -> "SpanExporter":
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # one span per line, like the logs it is printed among
        return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + os.linesep)
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    )
    if protocol not in ("", "http/protobuf"):
        logger.warning("OTLP over %s is not installed; exporting over http/protobuf", protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # its endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*


def _instrument(*, django: bool, database: bool, environ: Mapping[str, str]) -> None:
    # OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=psycopg2 (the standard variable) leaves the queries out:
    # most of a saga's spans, and of what tracing costs.
    disabled = {name.strip() for name in environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    database, django = database and "psycopg2" not in disabled, django and "django" not in disabled
    if database:
        from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor

        Psycopg2Instrumentor().instrument()
    if django:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        excluded = (
            environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS")
            or environ.get("OTEL_PYTHON_EXCLUDED_URLS")
            or DEFAULT_EXCLUDED_URLS
        )
        DjangoInstrumentor().instrument(excluded_urls=excluded)
        from opentelemetry.instrumentation.propagators import (
            TraceResponsePropagator,
            set_global_response_propagator,
        )

        # Each traced response names its trace in a ``traceresponse`` header: the access log line
        # carries it, and a caller can look the trace up.
        set_global_response_propagator(TraceResponsePropagator())


def _use(provider: "TracerProvider") -> None:
    _state.provider = provider
    _state.tracer = provider.get_tracer("saga_common")


def shutdown() -> None:
    """Export the spans still waiting and stop exporting: the last thing a process does."""
    provider = _state.provider
    if provider is not None:
        provider.shutdown()


@contextmanager
def routed_to(provider: "TracerProvider") -> Iterator[None]:
    """Record saga_common's own spans with ``provider`` for a while (tests: no global provider is set,
    and the instrumentations are left alone)."""
    saved = (_state.provider, _state.tracer)
    _use(provider)
    try:
        yield
    finally:
        _state.provider, _state.tracer = saved


# --- use -----------------------------------------------------------------------------------------


def enabled() -> bool:
    """Whether this process records spans (False: the no-op tracer, which only passes contexts on)."""
    return _state.provider is not None


def tracer() -> Tracer:
    """saga_common's tracer: the SDK's when spans are exported, else the API's no-op one."""
    return _state.tracer


def inject(context: Context | None = None) -> dict[str, str]:
    """The W3C headers (``traceparent``, and ``tracestate`` if any) of ``context``'s span (default: the
    current one); empty when there is none."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context)
    return carrier


def extract(headers: Mapping[str, str]) -> Context:
    """A context whose span is the one the W3C ``headers`` name (none if they are missing or malformed)."""
    return _W3C.extract(headers)


def valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a ``traceparent`` OpenTelemetry reads (the W3C format, ids not all zero)."""
    return trace.get_current_span(extract({"traceparent": value})).get_span_context().is_valid


def trace_id_in(headers: Mapping[str, str]) -> str:
    """The trace id (hex) the W3C ``headers`` name, or ""."""
    context = trace.get_current_span(extract(headers)).get_span_context()
    return format_trace_id(context.trace_id) if context.is_valid else ""


def current_ids() -> tuple[str, str] | None:
    """The current span's trace id and span id (hex), or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)


def current_trace_id() -> str:
    """The current span's trace id (hex), or "" outside any span."""
    ids = current_ids()
    return ids[0] if ids else ""


def annotate(attributes: Mapping[str, AttributeValue]) -> None:
    """Add ``attributes`` to the current span, if it is recorded."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)
