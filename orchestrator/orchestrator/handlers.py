"""Messages the orchestrator consumes: OrderCreated starts a saga; every reply moves one along."""

from orchestrator import services
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import Handler, HandlerRegistry
from saga_common.messaging.message import reply_classes
from shop_contracts import OrderCreated


def start_place_order(event: Envelope) -> None:
    services.saga_start_for_order(event=event)


def apply_reply(reply: Envelope) -> None:
    services.saga_reply_apply(reply=reply)


def _reply_handlers() -> dict[type, Handler]:
    return {reply_type: apply_reply for reply_type in reply_classes()}


HANDLERS: HandlerRegistry = {OrderCreated: start_place_order, **_reply_handlers()}
