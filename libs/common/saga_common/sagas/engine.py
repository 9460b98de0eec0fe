"""The saga engine: the one object a service holds to run its saga definitions.

Each entry point is one engine call (``unit_of_work.engine_call``): one database transaction that locks
the saga's row and writes the next command to the outbox, so the state and the command it implies can
never disagree. The inbox runs a whole fetched batch of messages as one engine call (``batch``). Each
job has a module of its own, and this class only names them:

- ``start``: a saga for an order (here);
- ``handle_reply``: a participant answered (``replies``);
- ``expire_due_steps``: deadlines passed (``deadlines``);
- ``retry`` and ``compensate``: an operator acted (``operator_actions``).
"""

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from django.conf import settings

from saga_common.messaging.envelope import Envelope
from saga_common.observability import tracing
from saga_common.sagas import deadlines, operator_actions, replies
from saga_common.sagas.definition import RetryPolicy, Saga, SagaState
from saga_common.sagas.ids import saga_id_for
from saga_common.sagas.models import SagaInstance
from saga_common.sagas.registry import SagaRegistry
from saga_common.sagas.run import SagaRun
from saga_common.sagas.unit_of_work import engine_call, record


def retry_policy_from_settings() -> RetryPolicy:
    return RetryPolicy(
        timeout=settings.SAGA_STEP_TIMEOUT_SECONDS,
        max_attempts=settings.SAGA_STEP_MAX_ATTEMPTS,
        max_wait=settings.SAGA_STEP_MAX_WAIT_SECONDS,
    )


class SagaEngine:
    """Run the given saga definitions (every version still needed) against this service's database and
    outbox."""

    def __init__(
        self,
        definitions: Iterable[Saga[Any]],
        policy: RetryPolicy | None = None,
        *,
        start_versions: dict[str, int] | None = None,
    ) -> None:
        self.registry = SagaRegistry(definitions, start_versions)
        self._policy = policy

    @property
    def policy(self) -> RetryPolicy:
        """The given policy, else the settings' (read each time, so tests can change settings)."""
        return self._policy or retry_policy_from_settings()

    def start(self, saga: Saga[Any] | str, *, order_id: str, data: Any, cause: Envelope) -> SagaInstance:
        """Start ``saga`` for ``order_id`` unless it already runs; return the saga. A name starts the
        version new sagas get (``SagaRegistry.starting``); a definition, that very version."""
        saga = self.registry.starting(saga) if isinstance(saga, str) else saga
        saga_id = saga_id_for(saga.name, order_id)
        with engine_call() as unit:
            existing = unit.lock(saga_id)
            if existing is not None:
                record(existing, "StartIgnored", cause, "this order already has its saga")
                return existing
            instance = SagaInstance(
                id=saga_id,
                saga_type=saga.name,
                version=saga.version,
                order_id=order_id,
                state=SagaState.RUNNING,
                data=saga.dump_data(data),
                correlation_id=cause.correlation_id,
                # the order's trace: that of the span handling OrderCreated, else the one the event names
                trace_id=tracing.current_trace_id() or tracing.trace_id_in(cause.trace_headers()),
            )
            unit.add_saga(instance)
            record(instance, "SagaStarted", cause)
            run = SagaRun(saga, instance, self.policy, data=data)
            run.take(saga.first(), cause)
            run.save()
        return instance

    @contextmanager
    def batch(self, envelopes: Sequence[Envelope]) -> Iterator[None]:
        """Handle a fetched batch of messages as one engine call (``unit_of_work``): every saga they
        address is locked and read up front, in two statements, and their writes go out together."""
        with engine_call() as unit:
            unit.preload(self._addressed(envelopes))
            yield

    def _addressed(self, envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
        """The sagas the messages may move: a reply names its saga; an event without one may start a
        saga of any definition for its order."""
        ids = set()
        for envelope in envelopes:
            if envelope.saga_id:
                with suppress(ValueError):
                    ids.add(uuid.UUID(envelope.saga_id))
            elif envelope.order_id:
                ids.update(saga_id_for(name, envelope.order_id) for name in self.registry.names())
        return ids

    def handle_reply(self, envelope: Envelope) -> None:
        """Apply a participant's reply to the step waiting for it (``replies.handle_reply``)."""
        replies.handle_reply(self.registry, self.policy, envelope)

    def expire_due_steps(
        self,
        *,
        limit: int = 100,
        now: datetime | None = None,
        replies_handled_until: Callable[[str], datetime | None] | None = None,
    ) -> int:
        """Ask again, or give up on, steps whose deadline passed (``deadlines.expire_due_steps``)."""
        return deadlines.expire_due_steps(
            self.registry, self.policy, limit=limit, now=now, replies_handled_until=replies_handled_until
        )

    def retry(self, saga_id: uuid.UUID) -> SagaInstance:
        """An operator's forward recovery of a FAILED saga (``operator_actions.retry``)."""
        return operator_actions.retry(self.registry, self.policy, saga_id)

    def compensate(self, saga_id: uuid.UUID) -> SagaInstance:
        """An operator abandons a saga before its pivot (``operator_actions.compensate``)."""
        return operator_actions.compensate(self.registry, self.policy, saga_id)
