"""The saga end to end in containers, through the public REST API only, then the invariants; and the
console's image serving its pages."""

import time
import uuid
from decimal import Decimal

import requests

from devstack.services import APPS, SERVICES
from e2e.client import SystemClient
from e2e.containers import ContainerSystem
from e2e.invariants import check, snapshot


def customer(credit: str, client: SystemClient) -> str:
    name = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(name, credit)
    return name


def test_an_order_within_credit_is_approved(client: SystemClient) -> None:
    buyer = customer("100.00", client)
    order = client.place_order(buyer)
    assert client.wait_until_settled(order.id).status == "APPROVED"
    assert [p.status for p in client.payments(order.id)] == ["CAPTURED"]
    assert [s.status for s in client.shipments(order.id)] == ["SCHEDULED"]


def test_a_declined_payment_rejects_the_order(client: SystemClient) -> None:
    order = client.place_order(f"nobody-{uuid.uuid4().hex[:6]}")
    settled = client.wait_until_settled(order.id)
    assert (settled.status, settled.rejection_reason) == ("REJECTED", "customer has no account")


def test_shipping_rejection_voids_the_payment(client: SystemClient) -> None:
    buyer = customer("100.00", client)
    order = client.place_order(buyer, country="AQ")
    assert client.wait_until_settled(order.id).status == "REJECTED"
    assert [p.status for p in client.payments(order.id)] == ["VOIDED"]
    assert client.account(buyer).available == Decimal("100.00")


def test_an_idempotent_retry_creates_one_order(client: SystemClient) -> None:
    buyer = customer("100.00", client)
    first = client.place_order(buyer, idempotency_key="retry-1")
    again = client.place_order(buyer, idempotency_key="retry-1")
    assert first == again  # both answered 201, with the same order


def test_a_saga_survives_a_restart_of_the_payments_worker(
    system: ContainerSystem, client: SystemClient
) -> None:
    buyer = customer("100.00", client)
    worker = system.containers["payments-worker"].get_wrapped_container()
    worker.stop(timeout=30)  # SIGTERM: the worker finishes its batch and exits
    order = client.place_order(buyer)
    time.sleep(3)
    assert client.order(order.id).status == "PENDING"  # nobody authorizes while it is down
    worker.start()
    assert client.wait_until_settled(order.id, timeout=120).status == "APPROVED"
    # then every invariant of docs/contract.md holds across the four databases
    assert check(snapshot(system.database_urls())) == []
    assert len(SERVICES) == 4


def test_the_console_serves_its_sign_in_page(system: ContainerSystem) -> None:
    """The console's image runs as compose.yaml defines it (dev sign-in on) and answers through its
    published port: ready, and the sign-in page as HTML."""
    assert [app.name for app in APPS] == ["console"]
    console = system.url("console")
    assert requests.get(f"{console}/healthz/ready", timeout=10).status_code == 200
    page = requests.get(f"{console}/signin", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Sign in" in page.text
