"""Structured logs carry a message's ids; the metrics count sagas, steps and inbox outcomes."""

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from pythonjsonlogger.json import JsonFormatter

import shop_contracts as contracts
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_once
from saga_common.observability.logs import ContextFilter
from saga_common.sagas.engine import SagaEngine
from saga_testing.messages import wrap
from tests.example_saga import example_saga
from tests.integration.saga_driver import SagaDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the services' JSON handler writes, captured."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("handler-under-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_every_line_a_handler_logs_carries_the_message_ids(json_lines: io.StringIO) -> None:
    message = wrap(contracts.ApproveOrder(), order_id="o-7", correlation_id="corr-7", saga_id="saga-7")

    def handler(envelope: Envelope) -> None:
        logging.getLogger("handler-under-test").info("approving")

    handle_once(message, handler)
    logging.getLogger("handler-under-test").info("after the message")
    inside, outside = (json.loads(line) for line in json_lines.getvalue().splitlines())
    assert {k: inside[k] for k in ("message", "correlation_id", "saga_id", "order_id", "message_id")} == {
        "message": "approving",
        "correlation_id": "corr-7",
        "saga_id": "saga-7",
        "order_id": "o-7",
        "message_id": message.id,
    }
    assert inside["message_type"] == "ApproveOrder"
    assert "correlation_id" not in outside  # the context ends with the message


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_finished_sagas_and_step_durations_are_counted() -> None:
    saga = example_saga()
    driver = SagaDriver(SagaEngine([saga]), saga)
    completed = sample("saga_finished_total", saga="example", state="COMPLETED")
    authorize_steps = sample(
        "saga_step_duration_seconds_count", saga="example", step="authorize", outcome="SUCCEEDED"
    )
    driver.start()
    driver.answer(contracts.PaymentAuthorized(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.ShipmentScheduled(shipment_id="s"))
    driver.answer(contracts.PaymentCaptured(payment_id="p", amount=Decimal("9.99")))
    driver.answer(contracts.OrderApproved())
    assert sample("saga_finished_total", saga="example", state="COMPLETED") == completed + 1
    assert (
        sample("saga_step_duration_seconds_count", saga="example", step="authorize", outcome="SUCCEEDED")
        == authorize_steps + 1
    )


def test_the_outbox_backlog_is_read_at_scrape_time() -> None:
    from django.db import transaction

    from saga_common.messaging.outbox import send

    with transaction.atomic():
        send(contracts.ApproveOrder(), order_id="o-1", correlation_id="c")
    assert sample("outbox_backlog_rows") == 1
    assert sample("outbox_oldest_age_seconds") >= 0
