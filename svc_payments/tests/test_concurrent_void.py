"""Two VoidPayment attempts racing an authorization that commits while both wait: one release only."""

import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from payments import services
from payments.models import Account, Payment, PaymentStatus
from tests.holdings import held_by_payments

pytestmark = pytest.mark.django_db(transaction=True)  # the racing transactions must really commit


def _waiting_backends(cursor: Any) -> int:
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(cursor.fetchone()[0])


def test_two_voids_waiting_on_an_authorization_release_its_hold_once() -> None:
    # given an account, and an authorization of 10.00 that holds its money but has not committed yet
    Account.objects.create(customer_id="c-1", currency="EUR", credit_limit=Decimal("50.00"))
    authorizing = connections.create_connection("default")
    cursor = authorizing.cursor()
    cursor.execute("BEGIN")
    cursor.execute(
        "INSERT INTO payments_payment (id, order_id, customer_id, amount, currency, status, created_at,"
        " updated_at) VALUES (%s, 'o-1', 'c-1', 10.00, 'EUR', 'AUTHORIZED', now(), now())",
        [uuid.uuid4()],
    )
    cursor.execute("UPDATE payments_account SET held = held + 10.00 WHERE customer_id = 'c-1'")
    errors: list[BaseException] = []

    def void() -> None:
        try:
            services.payment_void(order_id="o-1", customer_id="c-1", amount=Decimal("10.00"), currency="EUR")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    # when two voids (say, two attempts of the compensation) find no payment and wait on its insert
    voids = [threading.Thread(target=void) for _ in range(2)]
    for thread in voids:
        thread.start()
    deadline = time.monotonic() + 10
    watching = connections.create_connection("default")
    with watching.cursor() as watcher:
        while _waiting_backends(watcher) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_backends(watcher) == 2, "both voids should be waiting on the authorization"
    watching.close()
    # and the authorization then commits
    cursor.execute("COMMIT")
    authorizing.close()
    for thread in voids:
        thread.join(10)
    # then the payment is voided and its hold released exactly once
    assert errors == []
    assert Payment.objects.get(order_id="o-1").status == PaymentStatus.VOIDED
    account = Account.objects.get(customer_id="c-1")
    assert account.held == held_by_payments("c-1") == Decimal("0.00")
