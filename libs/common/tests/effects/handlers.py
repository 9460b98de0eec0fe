"""Handlers for the inbox tests: one records an effect, one records it and then fails."""

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import HandlerRegistry
from shop_contracts import ApproveOrder, RejectOrder
from tests.effects.models import Effect


class HandlerBroke(RuntimeError):
    pass


def record_effect(message: Envelope) -> None:
    Effect.objects.create(message_id=message.id, order_id=message.order_id)


def record_effect_then_fail(message: Envelope) -> None:
    Effect.objects.create(message_id=message.id, order_id=message.order_id)
    raise HandlerBroke("the handler broke after writing its effect")


HANDLERS: HandlerRegistry = {ApproveOrder: record_effect, RejectOrder: record_effect_then_fail}
