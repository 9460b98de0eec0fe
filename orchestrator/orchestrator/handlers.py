"""Messages the orchestrator consumes: OrderCreated starts a saga; every reply moves one along."""

from django.conf import settings

from orchestrator.place_order import PlaceOrderData, place_order
from saga_common.contracts import ORCHESTRATOR_REPLIES, OrderCreated, reply_classes
from saga_common.envelope import Envelope
from saga_common.inbox import Handler, HandlerRegistry
from saga_common.kafka import topic_name
from saga_common.progress import handled_until
from saga_common.sagas.engine import SagaEngine

engine = SagaEngine([place_order])


def start_place_order(event: Envelope) -> None:
    order = event.message_as(OrderCreated)
    engine.start(place_order, order_id=event.order_id, data=PlaceOrderData.from_event(order), cause=event)


def expire_due_steps() -> None:
    """The worker's periodic job: retry or give up on steps whose deadline passed, each judged against
    how far the orchestrator's consumer group (any of its workers) has handled the partition carrying
    that saga's replies; at most one batch a sweep, so retries cannot flood the participants."""
    replies = handled_until(settings.KAFKA_CONSUMER_GROUP, topic_name(ORCHESTRATOR_REPLIES))
    engine.expire_due_steps(limit=100, replies_handled_until=replies)


def _reply_handlers() -> dict[type, Handler]:
    return {reply_type: engine.handle_reply for reply_type in reply_classes()}


HANDLERS: HandlerRegistry = {OrderCreated: start_place_order, **_reply_handlers()}
