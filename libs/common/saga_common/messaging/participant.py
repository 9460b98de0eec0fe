"""Helpers for saga participants: answer every command with a named reply, refusals included.

A participant's handler is a plain function ``(command, order_id) -> Reply``. ``command_handlers``
wraps each one the same way in every service:
- the envelope's payload is parsed into the command's contract class, whose rules (see
  ``saga_common.messaging.rules``) refuse a malformed command before anything happens; the inbox then
  dead-letters it with the reason;
- a ``DomainError`` (a business rule said no) becomes the command's ``refusal`` reply with the
  error's detail as the reason: a certain answer, sent once, never retried as if it were a fault.
  It must come before the handler noted any change in its unit of work (``saga_common.units``:
  check, then change); one after is a bug (``RefusedAfterChange``), retried and dead-lettered;
- the reply goes to the orchestrator through the outbox, in the inbox's transaction.
"""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from saga_common import units
from saga_common.errors import DomainError
from saga_common.messaging import outbox
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import Handler, HandlerRegistry
from saga_common.messaging.message import Command, Reply
from saga_common.observability import tracing

CommandHandler = Callable[[Any, str], Reply]


def reply(command: Envelope, message: Reply) -> Envelope:
    """Send ``message`` to the orchestrator as the answer to ``command``.

    The reply's id derives from the command's id, so handling the same command twice (which the
    inbox already prevents) could never produce two different replies.
    """
    return outbox.send(
        message,
        order_id=command.order_id,
        correlation_id=command.correlation_id,
        saga_id=command.saga_id,
        causation=command,
        message_id=str(uuid.uuid5(uuid.UUID(command.id), message.type_name())),
    )


def answering(command_type: type[Command], handle: CommandHandler) -> Handler:
    """Return the inbox handler that parses ``command_type``, runs ``handle`` and sends its reply."""

    def handler(envelope: Envelope) -> None:
        command = envelope.message_as(command_type)
        noted = units.notes()
        try:
            answer = handle(command, envelope.order_id)
        except DomainError as refusal:
            if command_type.refusal is None:
                raise  # a command that cannot be refused was: a bug, retried and then dead-lettered
            if units.notes() != noted:  # check, then change: its changes would be written with the "no"
                raise units.RefusedAfterChange(
                    f"{command_type.type_name()} refused after a change"
                ) from refusal
            answer = command_type.refusal(reason=(refusal.detail or "refused")[:500])
        tracing.annotate(
            {"saga.reply": answer.type_name(), "saga.outcome": "succeeded" if answer.succeeded else "refused"}
        )
        reply(envelope, answer)

    return handler


def command_handlers(handlers: Mapping[type[Command], CommandHandler]) -> HandlerRegistry:
    """The inbox registry of a participant: each command type to its handler, wrapped by ``answering``."""
    return {command_type: answering(command_type, handle) for command_type, handle in handlers.items()}
