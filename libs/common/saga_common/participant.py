"""Helpers for saga participants: answer a command with a named reply."""

import uuid

from saga_common import outbox
from saga_common.contracts import Reply
from saga_common.envelope import Envelope


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
