"""The outbox's promise: orders are taken while the broker is down, and decided when it returns."""

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from devstack.stack import Stack
from e2e.client import SystemClient


def broker_process(bootstrap: str) -> psutil.Process:
    port = int(bootstrap.rpartition(":")[2])
    (pid,) = {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == "LISTEN"
    }
    assert pid is not None
    return psutil.Process(pid)


@contextmanager
def broker_stopped(stack: Stack) -> Iterator[None]:
    broker = broker_process(stack.config.kafka_bootstrap)
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 5
        while broker.status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
            time.sleep(0.05)  # the signal is delivered asynchronously
        assert broker.status() == psutil.STATUS_STOPPED
        yield
    finally:
        os.kill(broker.pid, signal.SIGCONT)


def test_orders_are_taken_while_the_broker_is_down_and_decided_when_it_returns(
    stack: Stack, client: SystemClient
) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer, credit_limit="100.00")
    with broker_stopped(stack):
        # given the broker is down: every web is still ready (its own database answers) ...
        for service in ("orders", "payments", "shipping", "orchestrator"):
            assert client.shop.ready(service), service
        # ... and an order is taken: it waits in the orders outbox
        placed = client.place_order(customer, country="DE", idempotency_key=uuid.uuid4().hex)  # a 201
        time.sleep(2.0)
        assert client.order(placed.id).status == "PENDING"  # nothing can move it yet
    # when the broker returns, the order is decided
    order = client.wait_until_settled(placed.id, timeout=90)
    assert order.status == "APPROVED"
