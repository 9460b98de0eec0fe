"""A fetched batch of shipping commands is one unit of work (``shipping.unit_of_work``): the same
replies as one command at a time, in the same few statements whatever its size."""

import pytest

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Command
from saga_testing.messages import deliver_batch, deliver_each, statements_of, wrap
from shipping.handlers import HANDLERS
from shipping.models import Shipment
from shop_contracts import CancelShipment, ScheduleShipment

pytestmark = pytest.mark.django_db


def schedule(country: str = "DE") -> ScheduleShipment:
    return ScheduleShipment(country=country, address={"country": country}, customer_id="c-1")


def commands(prefix: str) -> list[Envelope]:
    steps: list[tuple[str, Command]] = [
        ("o1", schedule()),
        ("o2", schedule("AQ")),  # not served
        ("o1", schedule()),  # a repeat: the first answer again
        ("o1", CancelShipment(country="DE")),
        ("o1", schedule()),  # cancelled now
        ("o3", CancelShipment(country="DE")),  # before its shipment: a tombstone
        ("o3", schedule()),  # rejected: cancelled already
    ]
    return [wrap(command, order_id=f"{prefix}-{order}", saga_id="s") for order, command in steps]


def answers(replies: list[Envelope]) -> list[tuple[str, object]]:
    return [(r.type, {k: v for k, v in r.payload.items() if k != "shipment_id"}) for r in replies]


def shipments(prefix: str) -> list[tuple[str, str]]:
    return sorted(
        (s.order_id.split("-", 1)[1], s.status) for s in Shipment.objects.filter(order_id__startswith=prefix)
    )


def test_a_batch_answers_as_one_command_at_a_time_would() -> None:
    alone = deliver_each(commands("each"), HANDLERS)
    together = deliver_batch(commands("batch"), HANDLERS)
    assert answers(together) == answers(alone)
    assert [t for t, _ in answers(together)].count("ShipmentRejected") == 3
    assert shipments("batch") == shipments("each") == [("o1", "CANCELLED"), ("o3", "CANCELLED")]


def test_a_batch_costs_the_same_statements_whatever_its_size() -> None:
    def schedules(count: int, prefix: str) -> list[Envelope]:
        return [wrap(schedule(), order_id=f"{prefix}{i}", saga_id="s") for i in range(count)]

    small = statements_of(lambda: deliver_batch(schedules(2, "a"), HANDLERS))
    large = statements_of(lambda: deliver_batch(schedules(40, "b"), HANDLERS))
    assert Shipment.objects.filter(status="SCHEDULED").count() == 42
    assert large == small <= 10
