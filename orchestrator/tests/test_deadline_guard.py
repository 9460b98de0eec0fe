"""A step is given up only once the partition carrying its saga's replies was handled past its deadline.

Before, the guard was a per-process note of the last batch's position, and a batch of one marked the
worker caught up: with two orchestrator workers, one sweeping after a single reply expired sagas whose
replies sat unread in the other worker's partitions.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

import shop_contracts as contracts
from orchestrator import handlers, services
from saga_common.messaging.inbox import handle_once
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.progress import partition_for
from saga_common.models import ConsumerProgress
from saga_common.sagas.models import SagaStep
from saga_testing.messages import outbox_messages, wrap
from shop_contracts import ORCHESTRATOR_REPLIES

pytestmark = pytest.mark.django_db
PARTITIONS = 3
ORDERS = ["8d0f2a52-3d3c-4c1e-9d1c-5c1b2a0e9f11", "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"]


def start(order_id: str) -> None:
    event = contracts.OrderCreated(
        customer_id="c-1",
        total=Decimal("25.00"),
        currency="EUR",
        shipping_address={"country": "DE"},
    )
    envelope = wrap(event, order_id=order_id, correlation_id="req")
    handle_once(envelope, handlers.HANDLERS[contracts.OrderCreated])


def progress(partition: int, up_to_seconds_ago: float) -> None:
    ConsumerProgress.objects.update_or_create(
        group=settings.KAFKA_CONSUMER_GROUP,
        topic=topic_name(ORCHESTRATOR_REPLIES),
        partition=partition,
        defaults={
            "partitions": PARTITIONS,
            "handled_up_to": timezone.now() - timedelta(seconds=up_to_seconds_ago),
        },
    )


def retried(order_id: str) -> bool:
    return [m.type for m in outbox_messages() if m.order_id == order_id].count("AuthorizePayment") > 1


def test_a_deadline_waits_for_the_partition_that_carries_its_replies() -> None:
    # given two sagas on different reply partitions, both past their deadline by 5 s
    behind, caught_up = ORDERS
    assert partition_for(behind, PARTITIONS) != partition_for(caught_up, PARTITIONS)
    for order_id in ORDERS:
        start(order_id)
    SagaStep.objects.update(deadline_at=timezone.now() - timedelta(seconds=5))
    # and the worker owning the first one's partition has handled it only up to 30 s ago (it died, or
    # lags), while every other partition is handled up to now
    for partition in range(PARTITIONS):
        progress(partition, 30 if partition == partition_for(behind, PARTITIONS) else 0)
    # when the sweep runs
    services.saga_deadlines_sweep()
    # then only the saga whose replies are all handled is asked again
    assert (retried(behind), retried(caught_up)) == (False, True)
    # and once its partition is handled past the deadline, the other one is too
    progress(partition_for(behind, PARTITIONS), 0)
    services.saga_deadlines_sweep()
    assert retried(behind)


def test_without_any_recorded_progress_nothing_is_given_up() -> None:
    start(ORDERS[0])
    SagaStep.objects.update(deadline_at=timezone.now() - timedelta(seconds=60))
    services.saga_deadlines_sweep()  # no consumer has handled anything yet: a reply may be waiting
    assert not retried(ORDERS[0])
