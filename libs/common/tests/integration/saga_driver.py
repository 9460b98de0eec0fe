"""Drive the example saga through a SagaEngine as its participants and the clock would."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

import shop_contracts as contracts
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Reply
from saga_common.sagas.definition import Saga
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import WAITING_STATUSES, SagaInstance, SagaStep
from saga_testing.messages import outbox_messages, wrap
from tests.example_saga import Data


class SagaDriver:
    def __init__(self, engine: SagaEngine, saga: Saga[Data]) -> None:
        self.engine, self.saga = engine, saga

    def start(self, order_id: str = "o-1") -> SagaInstance:
        cause = wrap(
            contracts.OrderCreated(
                customer_id="c-1", total=Decimal("9.99"), currency="EUR", shipping_address={"country": "DE"}
            ),
            order_id=order_id,
            correlation_id="k",
        )
        return self.engine.start(self.saga, order_id=order_id, data=Data(), cause=cause)

    def answer(self, message: Reply, command: Envelope | None = None) -> Envelope:
        """Reply to ``command`` (default: the latest command), as its participant would."""
        command = command or outbox_messages()[-1]
        reply = wrap(
            message,
            order_id=command.order_id,
            correlation_id=command.correlation_id,
            saga_id=command.saga_id,
            causation=command,
        )
        self.engine.handle_reply(reply)
        return reply

    def state(self, order_id: str = "o-1") -> SagaInstance:
        return SagaInstance.objects.get(order_id=order_id)

    def pass_deadlines(self) -> int:
        """Let every waiting step's deadline pass (as if time went by), then run the sweeper."""
        SagaStep.objects.filter(status__in=WAITING_STATUSES).update(
            deadline_at=timezone.now() - timedelta(seconds=1)
        )
        return self.engine.expire_due_steps()

    @staticmethod
    def command(type_name: str) -> Envelope:
        """The latest command of this type the saga sent (to answer one branch of several)."""
        return next(e for e in reversed(outbox_messages()) if e.type == type_name)

    @staticmethod
    def sent() -> list[str]:
        return [e.type for e in outbox_messages()]
