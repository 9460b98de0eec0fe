"""A dead letter is kept per message, not per position: offsets begin again (a topic recreated, a memory
broker restarted), and a new poison message at an old offset must still reach the operator."""

import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME
from django_outbox_pattern.models import Published

from saga_common.messaging import dead_letters
from saga_common.models import DeadLetter, DeadLetterStatus
from saga_common.operations.dead_letters import dead_letter_discard, dead_letter_replay
from saga_testing.kafka import kafka_record
from saga_testing.messages import wrap
from shop_contracts import RejectOrder
from tests.effects.handlers import HandlerBroke

pytestmark = pytest.mark.django_db

# Records made by hand (``Delivered``) stand in for the client's messages.
keep = cast(Callable[..., bool], dead_letters.record_dead_letter)


class Delivered:
    """A record as the consumer gets it: where it sits, when it was produced, and its bytes."""

    def __init__(
        self, offset: int, value: bytes, headers: Any = None, *, millis: int = 1_700_000_000_000
    ) -> None:
        self._offset, self._value, self._headers, self._millis = offset, value, headers, millis

    def topic(self) -> str:
        return "orders.commands"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"o-1"

    def value(self) -> bytes:
        return self._value

    def headers(self) -> Any:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, self._millis


def command(reason: str) -> Delivered:
    """A well-formed RejectOrder (with its own message id) at offset 0."""
    _key, value, headers = kafka_record(wrap(RejectOrder(reason=reason), order_id="o-1", correlation_id="c"))
    return Delivered(0, value, headers)


def test_a_new_message_at_an_offset_already_recorded_is_kept_too() -> None:
    # given a dead letter from offset 0, before the broker's offsets began again
    assert keep(command("first run"), HandlerBroke("x"), 5) is True
    # when another message fails at the same topic, partition and offset
    assert keep(command("second run"), HandlerBroke("y"), 5) is True
    # then the operator sees both
    assert DeadLetter.objects.filter(offset=0, status=DeadLetterStatus.PENDING).count() == 2


def test_id_less_records_at_one_offset_are_told_apart_by_their_timestamp_or_bytes() -> None:
    garbage = b"\x00not json"
    assert keep(Delivered(0, garbage, millis=1), HandlerBroke("x"), 1) is True
    assert keep(Delivered(0, garbage, millis=2), HandlerBroke("x"), 1) is True
    assert keep(Delivered(0, b"other", millis=2), HandlerBroke("x"), 1) is True
    # the very same record again (a redelivery after a crash) is not a new letter
    assert keep(Delivered(0, garbage, millis=2), HandlerBroke("x"), 1) is False
    assert DeadLetter.objects.count() == 3
    assert all(letter.identity.startswith("record:") for letter in DeadLetter.objects.all())


def test_a_message_that_fails_again_after_its_replay_is_pending_again_and_can_be_replayed_again() -> None:
    failing = command("fails twice")
    assert keep(failing, HandlerBroke("first"), 5) is True
    letter = DeadLetter.objects.get()
    dead_letter_replay(dead_letter_id=letter.id, operator="ops")
    # when the replayed copy (the same message, now at offset 7) fails again
    again = Delivered(7, failing.value(), failing.headers(), millis=1_700_000_009_000)
    assert keep(again, HandlerBroke("second"), 5) is True
    # then the same letter is back for the operator, with the newest record and how often it failed
    reopened = DeadLetter.objects.get()
    assert (reopened.id, reopened.status, reopened.occurrences) == (letter.id, DeadLetterStatus.PENDING, 2)
    assert (reopened.offset, reopened.acted_by, reopened.acted_at) == (7, None, None)
    assert "second" in reopened.error
    # and a second replay enqueues a second outbox row (the first is still there)
    dead_letter_replay(dead_letter_id=letter.id, operator="ops")
    assert Published.objects.count() == 2
    # and a discarded letter whose message comes back is pending again too
    assert keep(Delivered(9, failing.value(), failing.headers(), millis=3), HandlerBroke("3"), 5)
    dead_letter_discard(dead_letter_id=letter.id, operator="ops")
    assert keep(Delivered(11, failing.value(), failing.headers(), millis=4), HandlerBroke("4"), 5)
    assert DeadLetter.objects.values_list("status", "occurrences").get() == (DeadLetterStatus.PENDING, 4)


def test_a_message_id_is_what_identifies_a_letter() -> None:
    message = command("x")
    keep(message, HandlerBroke("x"), 5)
    letter = DeadLetter.objects.get()
    assert letter.identity.startswith("id:")
    assert uuid.UUID(letter.message_id or "")
    # a record that copies the id with other bytes is a letter of its own
    _key, _value, headers = kafka_record(wrap(RejectOrder(reason="x"), order_id="o-1", correlation_id="c"))
    copied = [(n, v) for n, v in headers if n != "ce_id"] + [("ce_id", (letter.message_id or "").encode())]
    assert keep(Delivered(0, b"other bytes", copied), HandlerBroke("x"), 5)
    assert DeadLetter.objects.filter(message_id=letter.message_id).count() == 2
