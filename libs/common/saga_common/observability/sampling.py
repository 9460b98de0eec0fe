"""Which spans are recorded: a database query only inside a trace; anything else as configured.

The worker's loops query their database on their own, many times a second: the relay polls its outbox
(and listens for commits), housekeeping sweeps deadlines and prunes, the consumer records its progress
and its inbox rows. With psycopg2 instrumented, each of those queries would be the root of a trace of
one span, drowning the orders' traces and costing an export each.

We chose a sampler over instrumenting psycopg2 only while a span is active: the instrumentation is
installed once per process, on every connection (Django's, the relay's listener), and cannot be
switched per thread, while a sampler decides per span, with the parent at hand. A database span
(kind CLIENT: the only client spans here) without a parent is dropped before anything is recorded; one
inside a request's or a message's span follows its parent. Everything else is decided by the sampler
``OTEL_TRACES_SAMPLER`` configures (``parentbased_always_on`` by default), so a message whose trace was
sampled upstream is recorded here too, and one that was not is not.

This module imports the SDK, so only ``saga_common.observability.tracing.build_provider`` imports it: a
process that exports nothing never loads the SDK.
"""

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes


class NoRootDatabaseSpans(Sampler):
    """Drop client (database) spans that would start a trace; ask ``delegate`` about everything else."""

    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return SamplingResult(Decision.DROP)
        return self.delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoRootDatabaseSpans{{{self.delegate.get_description()}}}"
