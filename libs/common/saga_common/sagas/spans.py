"""The saga engine's spans: one per command a saga sends, ``PlaceOrder saga: authorize_payment``.

A step's span (INTERNAL) is a child of what moved the saga: the ``handle <Type>`` span of the message
at hand (the order's OrderCreated, a participant's reply), or an operator's request. The command
carries the step span's context, so the participant's spans are its children: one trace per order.

The deadline sweeper moves sagas with no message at hand, yet the commands it sends again belong to
the order's trace too. So a saga keeps the context of the last step span it sent
(``SagaInstance.trace_parent``), and a command sent outside any span is a child of it: the next
attempt hangs under the attempt it repeats, in the order's trace. (A link would put each retry in a
trace of its own, which nobody looking at the order would find.) An operator's retry or compensate
stays a child of the operator's request, its cause, and links to the order's trace.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Link, Span
from opentelemetry.util.types import AttributeValue

from saga_common.observability import tracing
from saga_common.sagas.models import SagaInstance


@contextmanager
def sending_step(
    instance: SagaInstance, step: str, kind: str, attempt: int, command_id: uuid.UUID
) -> Iterator[Span]:
    """The span of sending a step's command (current while it is written to the outbox); the saga
    remembers it as the parent of the next command the sweeper sends."""
    current = trace.get_current_span().get_span_context()
    stored = tracing.extract({"traceparent": instance.trace_parent}) if instance.trace_parent else None
    stored_span = trace.get_current_span(stored).get_span_context() if stored else trace.INVALID_SPAN_CONTEXT
    links: list[Link] = []
    if current.is_valid and stored_span.is_valid and stored_span.trace_id != current.trace_id:
        links.append(Link(stored_span, {"saga.link": "the order's trace"}))
    attributes: dict[str, AttributeValue] | None = None
    if tracing.enabled():
        attributes = {
            "saga.id": str(instance.id),
            "saga.type": instance.saga_type,
            "order.id": instance.order_id,
            "saga.step": step,
            "saga.step.kind": kind,
            "saga.step.attempt": attempt,
            "messaging.message.id": str(command_id),
        }
        if not current.is_valid:
            attributes["saga.trigger"] = "deadline"  # the sweeper: no message, no request
    with tracing.tracer().start_as_current_span(
        f"{title(instance.saga_type)} saga: {step}",
        context=None if current.is_valid else stored,
        links=links,
        attributes=attributes,
    ) as span:
        yield span
        instance.trace_parent = tracing.inject().get("traceparent", instance.trace_parent)


def title(saga_type: str) -> str:
    """``place_order`` -> ``PlaceOrder``, as the saga is named in prose."""
    return "".join(part.capitalize() for part in saga_type.split("_"))
