"""Messages the orchestrator consumes: OrderCreated starts a PlaceOrder saga, OrderCancellationRequested
a CancelOrder saga; every reply moves one along."""

from collections.abc import Sequence
from contextlib import AbstractContextManager

from orchestrator import services
from orchestrator.engine import engine
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import Handler, HandlerRegistry
from saga_common.messaging.message import reply_classes
from shop_contracts import OrderCancellationRequested, OrderCreated


def start_place_order(event: Envelope) -> None:
    services.saga_start_for_order(event=event)


def start_cancel_order(event: Envelope) -> None:
    services.saga_start_cancellation(event=event)


def apply_reply(reply: Envelope) -> None:
    services.saga_reply_apply(reply=reply)


def batch_scope(envelopes: Sequence[Envelope]) -> AbstractContextManager[None]:
    """A fetched batch is one engine call: every saga it addresses is loaded up front, in two
    statements, and the batch's changes are written together (``saga_common.sagas.unit_of_work``)."""
    return engine.batch(envelopes)


def _reply_handlers() -> dict[type, Handler]:
    return {reply_type: apply_reply for reply_type in reply_classes()}


HANDLERS: HandlerRegistry = {
    OrderCreated: start_place_order,
    OrderCancellationRequested: start_cancel_order,
    **_reply_handlers(),
}
