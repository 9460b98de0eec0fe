"""Deterministic ids: one saga per order, and one command id per (saga, action, attempt).

A second start for an order finds the first saga; a participant seeing the same command id twice
knows it is a duplicate, and a retried command (a new attempt) has a new id.
"""

import uuid

from saga_common.sagas.definition import ActionKind

SAGA_NAMESPACE = uuid.UUID("5a6a0000-0000-4000-8000-000000000000")


def saga_id_for(saga_name: str, order_id: str) -> uuid.UUID:
    """The one saga id for this saga type and order."""
    return uuid.uuid5(SAGA_NAMESPACE, f"{saga_name}:{order_id}")


def command_id_for(saga_id: uuid.UUID, kind: ActionKind, index: int, attempt: int) -> uuid.UUID:
    """The id of attempt ``attempt`` of action (``kind``, ``index``) of the saga."""
    return uuid.uuid5(saga_id, f"{kind.value}:{index}:{attempt}")


def late_compensation_id_for(saga_id: uuid.UUID, late_reply_id: str) -> uuid.UUID:
    """The id of the compensation sent again because of a late success (one per late reply)."""
    return uuid.uuid5(saga_id, f"late:{late_reply_id}")
