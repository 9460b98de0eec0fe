"""Idempotency-Keys are remembered for IDEMPOTENCY_KEY_RETENTION_HOURS, then forgotten by the worker:
a repeat after that is a new order (docs/contract.md)."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from orders import services
from orders.models import IdempotencyKey, Order
from tests.test_orders_api import place

pytestmark = pytest.mark.django_db


def aged(key: str, age: timedelta) -> None:
    IdempotencyKey.objects.filter(key=key).update(created_at=timezone.now() - age)


def test_keys_older_than_their_retention_are_forgotten_in_batches(
    api: APIClient, settings: SettingsWrapper
) -> None:
    settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 168
    for key in ("old-1", "old-2", "old-3", "recent"):
        place(api, headers={"Idempotency-Key": key})
    for key in ("old-1", "old-2", "old-3"):
        aged(key, timedelta(hours=169))
    aged("recent", timedelta(hours=167))
    assert services.idempotency_keys_prune(batch_size=2) == 3  # the loop goes on until done
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert Order.objects.count() == 4  # the orders stay: only the keys are forgotten


def test_a_repeat_within_the_window_is_the_same_order_after_it_a_new_one(api: APIClient) -> None:
    window = timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    headers = {"Idempotency-Key": "k-1"}
    first: Any = place(api, headers=headers).json()
    aged("k-1", window - timedelta(minutes=1))
    services.idempotency_keys_prune()
    assert place(api, headers=headers).json()["id"] == first["id"]
    aged("k-1", window + timedelta(minutes=1))
    services.idempotency_keys_prune()
    again = place(api, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]


def test_the_worker_forgets_keys_and_dead_letters() -> None:
    tasks = {path for path, _interval in settings.WORKER_PERIODIC_TASKS}
    assert {
        "orders.services.idempotency_keys_prune",
        "saga_common.messaging.retention.prune_messages",
        "saga_common.messaging.retention.prune_dead_letters",
    } <= tasks
    for path in tasks:
        import_string(path)
