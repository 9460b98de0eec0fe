"""What an operator does with a dead letter: list them, replay one, or discard it.

A replay puts the very record that failed (same key, headers and value, so the same message id) back
on its original topic through the transactional outbox: the outbox row and the REPLAYED mark are
written in one transaction, under the dead letter's row lock, so the record is enqueued exactly once
however many operators press the button at once. The relay publishes it at least once, and the
inbox handles its message id at most once, so its effect happens once. Only a PENDING dead letter
may be replayed or discarded; anything else is a ``Conflict`` naming its status.
"""

import logging
import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from saga_common.errors import Conflict, NotFound
from saga_common.messaging.outbox import enqueue_raw
from saga_common.messaging.records import RawRecord, headers_from_json
from saga_common.models import DeadLetter, DeadLetterStatus

logger = logging.getLogger(__name__)


def dead_letter_list(*, status: str | None = None) -> QuerySet[DeadLetter]:
    """Dead letters, newest first; only those in ``status`` if given."""
    letters = DeadLetter.objects.order_by("-received_at", "-id")
    return letters if status is None else letters.filter(status=status)


def dead_letter_replay(*, dead_letter_id: uuid.UUID, operator: str) -> DeadLetter:
    """Enqueue the dead letter's record on its original topic and mark it REPLAYED, in one transaction."""
    with transaction.atomic():
        letter = _lock_pending(dead_letter_id, "replayed")
        record = RawRecord(_bytes(letter.key), _bytes(letter.payload), headers_from_json(letter.headers))
        # The row's id is the dead letter's (and its occurrence's, for a message that failed again after
        # a replay): even a bug around the lock could not enqueue one occurrence twice.
        enqueue_raw(record, letter.topic, row_id=_replay_row_id(letter))
        _mark(letter, DeadLetterStatus.REPLAYED, operator)
    _log("replayed", letter)
    return letter


def dead_letter_discard(*, dead_letter_id: uuid.UUID, operator: str) -> DeadLetter:
    """Mark the dead letter DISCARDED: an operator decided it is not to be handled."""
    with transaction.atomic():
        letter = _lock_pending(dead_letter_id, "discarded")
        _mark(letter, DeadLetterStatus.DISCARDED, operator)
    _log("discarded", letter)
    return letter


def _lock_pending(dead_letter_id: uuid.UUID, action: str) -> DeadLetter:
    letter = DeadLetter.objects.select_for_update().filter(id=dead_letter_id).first()
    if letter is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    if letter.status != DeadLetterStatus.PENDING:
        when = f" at {letter.acted_at.isoformat()}" if letter.acted_at else ""
        raise Conflict(
            f"dead letter {dead_letter_id} is already {letter.status} (by {letter.acted_by}{when}); "
            f"only a PENDING dead letter can be {action}"
        )
    return letter


def _mark(letter: DeadLetter, status: DeadLetterStatus, operator: str) -> None:
    letter.status, letter.acted_by, letter.acted_at = status, operator, timezone.now()
    letter.save(update_fields=["status", "acted_by", "acted_at"])


def _replay_row_id(letter: DeadLetter) -> uuid.UUID:
    if letter.occurrences <= 1:
        return letter.id
    return uuid.uuid5(letter.id, f"occurrence-{letter.occurrences}")


def _log(action: str, letter: DeadLetter) -> None:
    logger.info(
        "dead letter %s %s by %s",
        letter.id,
        action,
        letter.acted_by,
        extra={
            "dead_letter_id": str(letter.id),
            "dead_letter_action": action,
            "operator": letter.acted_by,
            "topic": letter.topic,
            "message_id": letter.message_id,
            "message_type": letter.message_type,
        },
    )


def _bytes(stored: bytes | memoryview | None) -> bytes | None:
    """A BinaryField as PostgreSQL gives it back (a memoryview) or as it was set (bytes)."""
    return None if stored is None else bytes(stored)
