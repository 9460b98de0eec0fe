"""Writes of the orchestrator: start a saga, apply a reply, sweep deadlines, prune the sagas that ended,
and the operator actions.

Each is one engine call (one transaction, the saga's row locked); see ``saga_common.sagas``.
"""

from uuid import UUID

from django.conf import settings

from orchestrator.cancel_order import CancelOrderData
from orchestrator.engine import engine
from orchestrator.place_order import PlaceOrderData
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.progress import handled_until
from saga_common.sagas.models import SagaInstance
from saga_common.sagas.retention import prune_sagas
from shop_contracts import ORCHESTRATOR_REPLIES, OrderCancellationRequested, OrderCreated


def saga_start_for_order(*, event: Envelope) -> None:
    """An order was created: start its PlaceOrder saga (once; a redelivered event finds it), on the
    version new sagas get (``SAGA_START_VERSIONS``)."""
    order = event.message_as(OrderCreated)
    engine.start("place_order", order_id=event.order_id, data=PlaceOrderData.from_event(order), cause=event)


def saga_start_cancellation(*, event: Envelope) -> None:
    """A customer asked to cancel an approved order: start its CancelOrder saga (once)."""
    request = event.message_as(OrderCancellationRequested)
    data = CancelOrderData.from_event(request)
    engine.start("cancel_order", order_id=event.order_id, data=data, cause=event)


def saga_reply_apply(*, reply: Envelope) -> None:
    """A participant answered: move its saga on."""
    engine.handle_reply(reply)


def saga_deadlines_sweep() -> int:
    """The worker's periodic job: retry or give up on steps whose deadline passed.

    Each deadline is judged against how far the orchestrator's consumer group (any of its workers) has
    handled the partition carrying that saga's replies; at most one batch a sweep, so retries cannot
    flood the participants.
    """
    replies = handled_until(settings.KAFKA_CONSUMER_GROUP, topic_name(ORCHESTRATOR_REPLIES))
    return engine.expire_due_steps(limit=100, replies_handled_until=replies)


def sagas_prune() -> int:
    """The worker's periodic job: delete the sagas that ended for good over ``SAGA_RETENTION_DAYS`` ago,
    with their steps and history (never one running or FAILED)."""
    return prune_sagas()


def saga_retry(*, saga_id: UUID) -> SagaInstance:
    """An operator sends a FAILED saga's stopped step again (forward recovery)."""
    return engine.retry(saga_id)


def saga_compensate(*, saga_id: UUID) -> SagaInstance:
    """An operator abandons a saga before its pivot, or resumes its failed compensation."""
    return engine.compensate(saga_id)
