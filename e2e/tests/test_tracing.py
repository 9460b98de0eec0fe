"""One trace per order across every service: the whole system with tracing on, exporting to a receiver
in this process (``devstack.otlp_sink``), as it would to a collector.

For an approved, a payment-declined and a shipping-rejected order: every span about the order is in
one trace, and that trace holds every hop in causal order (the POST, then for each message its
producer's send span, the consumer's handle span and the saga step that sent it, to the saga's end),
no span's parent is missing, and the trace id the API shows for the saga (and so the console) is
that trace's. ``pytest -s`` prints the tree of the approved order's trace; it is also saved to
``.run/trace-tree.txt``.
"""

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from devstack.broker import free_port
from devstack.otlp_sink import OtlpSink, Span, span_tree
from devstack.services import REPO_ROOT, SERVICES
from devstack.stack import Stack, StackConfig, running_stack
from e2e.client import SystemClient
from saga_client.models import Saga, SagaDefinition, SagaStep

T = TypeVar("T")
SERVICE_NAMES = {s.name for s in SERVICES}


@pytest.fixture(scope="module")
def sink() -> Iterator[OtlpSink]:
    receiver = OtlpSink().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced_stack(
    kafka_bootstrap: str, sink: OtlpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"e2e-trace-{uuid.uuid4().hex[:8]}.",
        database_prefix="e2e_trace_",
        ports={s.name: free_port() for s in SERVICES},
        web_workers=1,
        run_dir=tmp_path_factory.mktemp("traced-stack"),
        extra_env={**sink.env(schedule_delay_ms=100), "LOG_FORMAT": "json"},
    )
    with running_stack(config) as system:
        yield system


@pytest.fixture(scope="module")
def client(traced_stack: Stack) -> SystemClient:
    return SystemClient({s.name: traced_stack.url(s.name) for s in SERVICES})


@pytest.fixture(scope="module")
def sagas(client: SystemClient) -> dict[str, Saga]:
    """An approved, a payment-declined and a shipping-rejected order, placed together, decided."""
    customer = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer, credit_limit="100.00")
    # first one order, so every consumer has joined its group: the tree's timings are a warm system's
    client.wait_until_settled(client.place_order(customer, unit_price="1.00", quantity=1).id)
    placed = {
        "approved": client.place_order(customer, country="DE"),
        "declined": client.place_order(f"c-nobody-{uuid.uuid4().hex[:6]}"),
        "shipping_rejected": client.place_order(customer, country="AQ"),
    }
    statuses = {kind: client.wait_until_settled(order.id).status for kind, order in placed.items()}
    assert statuses == {"approved": "APPROVED", "declined": "REJECTED", "shipping_rejected": "REJECTED"}
    return {kind: client.saga_of(order.id) for kind, order in placed.items()}


@pytest.fixture(scope="module")
def definitions(client: SystemClient) -> list[SagaDefinition]:
    return client.shop.saga_definitions()


def expected_chain(saga: Saga, definition: SagaDefinition) -> list[str]:
    """The hops of a saga, from the order's POST to the reply that ended it, as span names."""
    chain = ["POST", "send OrderCreated", "handle OrderCreated"]
    for step in on_the_path(saga, definition):
        chain += [f"PlaceOrder saga: {step.name}", f"send {step.command_type}", f"handle {step.command_type}"]
        chain += [f"send {step.reply_type}", f"handle {step.reply_type}"]
    return chain


def on_the_path(saga: Saga, definition: SagaDefinition) -> list[SagaStep]:
    """The steps whose replies led on to the saga's end: of a parallel group's branches, the one whose
    answer came last (the join, or the refusal that turned the saga back); a branch abandoned, or
    answered before the other, leads nowhere."""
    group_of = {step.name: step.group for step in definition.steps}
    parallel = {step.group for step in definition.steps if step.parallel}
    path: list[SagaStep] = []
    branches: list[SagaStep] = []
    for step in saga.steps:
        group = group_of.get(step.name) if step.kind == "FORWARD" else None
        if group in parallel:
            branches.append(step)
            continue
        if branches:
            path.append(
                max((b for b in branches if b.reply_type), key=lambda b: b.finished_at or b.started_at)
            )
            branches = []
        path.append(step)
    return path


def chain_to(last: Span, spans: dict[str, Span]) -> list[Span]:
    """The spans from the trace's root down to ``last``, following parent ids."""
    chain = [last]
    while chain[-1].parent_id:
        chain.append(spans[chain[-1].parent_id])
    return chain[::-1]


def eventually(check: Callable[[], T], timeout: float = 30.0) -> T:
    """``check()``'s result once it stops raising AssertionError (every span exported), else its error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, KeyError, StopIteration):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def whole_trace(sink: OtlpSink, saga: Saga) -> dict[str, Span]:
    """The saga's trace, by span id, once it is complete: the saga's last hop is in, and every span's
    parent (only the root has none)."""
    assert saga.trace_id, "the saga names no trace"
    spans = {span.span_id: span for span in sink.spans() if span.trace_id == saga.trace_id}
    last = f"handle {saga.steps[-1].reply_type}"
    assert any(span.name == last for span in spans.values()), f"no {last} yet"
    orphans = [span for span in spans.values() if span.parent_id and span.parent_id not in spans]
    assert orphans == [], f"spans whose parent is missing: {orphans}"
    return spans


@pytest.mark.parametrize("kind", ["approved", "declined", "shipping_rejected"])
def test_one_trace_per_order_every_hop_in_causal_order(
    kind: str, sagas: dict[str, Saga], sink: OtlpSink, definitions: list[SagaDefinition]
) -> None:
    saga = sagas[kind]
    spans = eventually(lambda: whole_trace(sink, saga))
    # every span about the order, whichever service recorded it, is in the saga's trace
    about_the_order = [span for span in sink.spans() if span.attributes.get("order.id") == saga.order_id]
    assert {span.trace_id for span in about_the_order} == {saga.trace_id}
    # one root: the POST that placed the order, in the orders web
    (root,) = [span for span in spans.values() if not span.parent_id]
    assert (root.kind, root.service, root.name.split()[0]) == ("SERVER", "orders-web", "POST")
    # from it, every hop in order down to the reply that ended the saga, each parent started first
    last = next(span for span in spans.values() if span.name == f"handle {saga.steps[-1].reply_type}")
    chain = chain_to(last, spans)
    definition = next(d for d in definitions if (d.type, d.version) == (saga.type, saga.version))
    assert [span.name.split()[0] if span is root else span.name for span in chain] == expected_chain(
        saga, definition
    )
    assert all(parent.start_ns <= child.start_ns for parent, child in itertools.pairwise(chain))
    assert last.attributes["saga.outcome"] == saga.state.lower()
    handled = [span for span in chain if span.kind == "CONSUMER"]
    assert all(span.attributes["messaging.outcome"] == "handled" for span in handled)
    assert {span.attributes["messaging.system"] for span in handled} == {"kafka"}
    assert all(
        span.attributes["messaging.outcome"] == "published" for span in chain if span.kind == "PRODUCER"
    )
    # and the queries of each hop are in it too, never a trace of their own
    assert any(span.kind == "CLIENT" and span.parent_id == root.span_id for span in spans.values())
    services = {span.service.rsplit("-", 1)[0] for span in spans.values()}
    if kind == "approved":
        assert services == SERVICE_NAMES
    if kind == "declined":
        assert (
            next(s for s in chain if s.name == "handle AuthorizePayment").attributes["saga.outcome"]
            == "refused"
        )


def test_the_approved_orders_tree_is_printed_and_saved(sagas: dict[str, Saga], sink: OtlpSink) -> None:
    spans = eventually(lambda: whole_trace(sink, sagas["approved"]))
    tree = span_tree(list(spans.values()))
    print(f"\nthe trace {sagas['approved'].trace_id} of an approved order:\n{tree}")
    out = REPO_ROOT / ".run" / "trace-tree.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tree + "\n")
    # the saga's last reply is in it (with parallel branches, not necessarily on its last line)
    last = f"handle {sagas['approved'].steps[-1].reply_type}"
    assert sagas["approved"].steps[-1].reply_type == "ShipmentReleased"
    assert any(line.strip().startswith(last) for line in tree.splitlines()), tree


def test_no_database_query_starts_a_trace_of_its_own(sagas: dict[str, Saga], sink: OtlpSink) -> None:
    time.sleep(1.0)  # the relays and sweepers polled meanwhile, several times a second
    assert [span for span in sink.spans() if span.kind == "CLIENT" and not span.parent_id] == []


def test_log_lines_name_the_trace_and_gunicorns_access_lines_are_json(
    sagas: dict[str, Saga], traced_stack: Stack, sink: OtlpSink
) -> None:
    saga = sagas["approved"]
    logs = Path(traced_stack.config.run_dir) / "logs"
    access = [
        json.loads(line)
        for line in (logs / "orders-web.log").read_text().splitlines()
        if line.startswith("{")
    ]
    posts = [
        line for line in access if line.get("logger") == "gunicorn.access" and line.get("method") == "POST"
    ]
    assert posts, "no access line for the orders' POSTs"
    (placed,) = [line for line in posts if line.get("trace_id") == saga.trace_id]
    assert (placed["path"], placed["status"]) == ("/api/v1/orders", 201)
    assert placed["duration_ms"] >= 0
    # the request's span carries the correlation id its answer (and its messages) carried
    (root,) = [span for span in eventually(lambda: whole_trace(sink, saga)).values() if not span.parent_id]
    assert root.attributes["correlation.id"] == placed["correlation_id"]
    # every line of every process is JSON, gunicorn's own included
    for log in logs.glob("*-web.log"):
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        assert all(line.startswith("{") for line in lines), log.name


def test_the_api_shows_the_trace_only_a_trace_has(client: SystemClient, sagas: dict[str, Saga]) -> None:
    assert all(len(saga.trace_id or "") == 32 for saga in sagas.values())
    assert len({saga.trace_id for saga in sagas.values()}) == 3  # one trace per order
    assert client.saga_of(sagas["approved"].order_id).trace_id == sagas["approved"].trace_id
