"""Writes of the orders service. Each runs in one transaction with the messages it sends."""

import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from orders.models import IdempotencyKey, Order, OrderStatus
from saga_common.errors import Conflict, NotFound, Unprocessable
from saga_common.messaging import outbox
from saga_common.money import to_money
from shop_contracts import OrderCreated


def order_total(items: list[dict[str, Any]]) -> Decimal:
    """Sum of quantity x unit price, exact to the cent."""
    return to_money(sum((item["quantity"] * item["unit_price"] for item in items), Decimal("0.00")))


@transaction.atomic
def order_place(
    *,
    customer_id: str,
    currency: str,
    items: list[dict[str, Any]],
    shipping_address: dict[str, Any],
    correlation_id: str,
    idempotency_key: str | None = None,
) -> tuple[Order, dict[str, Any] | None]:
    """Create a PENDING order and its OrderCreated event; return (order, stored response if a replay).

    With an idempotency key, a repeat of the same request returns the first response; the key row is
    inserted first, so a concurrent repeat waits on it and then sees the first request's outcome.
    """
    request = {
        "customer_id": customer_id,
        "currency": currency,
        "items": items,
        "shipping_address": shipping_address,
    }
    if idempotency_key is not None:
        fingerprint = _fingerprint(request)
        record, created = IdempotencyKey.objects.get_or_create(
            customer_id=customer_id, key=idempotency_key, defaults={"request_fingerprint": fingerprint}
        )
        if not created:
            if record.request_fingerprint != fingerprint:
                raise Unprocessable("this Idempotency-Key was used with a different request")
            if record.order is None:
                raise Conflict("a request with this Idempotency-Key is still in progress")
            return record.order, record.response_body
    stored_items = [{**item, "unit_price": str(to_money(item["unit_price"]))} for item in items]
    order = Order.objects.create(
        customer_id=customer_id,
        currency=currency,
        items=stored_items,
        shipping_address=shipping_address,
        total=order_total(items),
    )
    outbox.send(
        OrderCreated(
            customer_id=customer_id,
            total=order.total,
            currency=currency,
            shipping_address=shipping_address,
        ),
        order_id=str(order.id),
        correlation_id=correlation_id,
    )
    return order, None


def idempotency_remember_response(
    *, idempotency_key: str, order: Order, response_body: dict[str, Any]
) -> None:
    """Store the order and the response a key's first request got, so repeats get exactly the same.

    Call it in the transaction of ``order_place``: until then the key row stays locked, so a
    concurrent repeat waits for this outcome rather than seeing a half-finished one.
    """
    IdempotencyKey.objects.filter(customer_id=order.customer_id, key=idempotency_key).update(
        order=order, response_body=response_body
    )


def idempotency_keys_prune() -> int:
    """Forget keys older than their retention (the orders worker runs this periodically)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def order_approve(*, order_id: str) -> Order:
    """Approve a PENDING order; approving an APPROVED one again changes nothing."""
    order = _lock_order(order_id)
    if order.status == OrderStatus.APPROVED:
        return order
    if order.status != OrderStatus.PENDING:
        raise Conflict(f"order {order_id} is {order.status} and cannot be approved")
    order.status = OrderStatus.APPROVED
    order.save(update_fields=["status", "updated_at"])
    return order


@transaction.atomic
def order_reject(*, order_id: str, reason: str) -> Order:
    """Reject a PENDING order with a reason; rejecting a REJECTED one again changes nothing."""
    order = _lock_order(order_id)
    if order.status == OrderStatus.REJECTED:
        return order
    if order.status != OrderStatus.PENDING:
        raise Conflict(f"order {order_id} is {order.status} and cannot be rejected")
    order.status, order.rejection_reason = OrderStatus.REJECTED, reason[:255]
    order.save(update_fields=["status", "rejection_reason", "updated_at"])
    return order


def _lock_order(order_id: str) -> Order:
    """The order, locked; a command about an order this service never took is refused, not retried."""
    try:
        order = Order.objects.select_for_update().filter(id=order_id).first()
    except (ValueError, ValidationError):  # not a uuid: no order of ours
        order = None
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def _fingerprint(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, default=str, sort_keys=True, separators=(",", ":"))  # Decimal: its text
    return hashlib.sha256(canonical.encode()).hexdigest()
