"""Writes of the orders service. Each runs in one transaction with the messages it sends."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from orders.models import IdempotencyKey, Order, OrderStatus
from orders.unit_of_work import OrdersUnit, order_key
from saga_common.errors import Conflict, NotFound, Unprocessable
from saga_common.messaging import outbox
from saga_common.messaging.retention import delete_in_batches
from saga_common.money import to_money
from shop_contracts import OrderCancellationRequested, OrderCreated


def order_total(items: list[dict[str, Any]]) -> Decimal:
    """Sum of quantity x unit price, exact to the cent."""
    return to_money(sum((item["quantity"] * item["unit_price"] for item in items), Decimal("0.00")))


@transaction.atomic(savepoint=False)  # the request's transaction: a savepoint would only cost round trips
def order_place(
    *,
    customer_id: str,
    currency: str,
    items: list[dict[str, Any]],
    shipping_address: dict[str, Any],
    correlation_id: str,
) -> Order:
    """Create a PENDING order and, in the same transaction, its OrderCreated event."""
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
    return order


class IdempotencyKeyUsed(Exception):
    """The customer's Idempotency-Key already has a request: roll this one back and answer as that one."""


_CLAIM_KEY = f"""
    INSERT INTO {IdempotencyKey._meta.db_table}
        (customer_id, key, request_fingerprint, order_id, response_body, created_at)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (customer_id, key) DO NOTHING
    RETURNING id
"""


def idempotency_key_claim(
    *, idempotency_key: str, order: Order, request: dict[str, Any], response_body: dict[str, Any]
) -> None:
    """Keep the key with the request it came with and the response it got, in the order's transaction,
    or raise ``IdempotencyKeyUsed`` if the customer used it before (roll back, then
    ``idempotency_key_replay``).

    One statement, last in the transaction: a concurrent request with the same key waits on the unique
    index until this one commits, then finds the key taken and answers with this response.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_KEY,
            [
                order.customer_id,
                idempotency_key,
                _fingerprint(request),
                order.id,
                json.dumps(response_body, cls=DjangoJSONEncoder),
                timezone.now(),
            ],
        )
        if cursor.fetchone() is None:
            raise IdempotencyKeyUsed(idempotency_key)


def idempotency_key_known(*, customer_id: str, idempotency_key: str) -> bool:
    """Whether the customer used this key before (for any request)."""
    return IdempotencyKey.objects.filter(customer_id=customer_id, key=idempotency_key).exists()


def idempotency_key_replay(
    *, customer_id: str, idempotency_key: str, request: dict[str, Any]
) -> tuple[Order, dict[str, Any]]:
    """The order and the response the key's first request got; 422 if it came with another request."""
    record = (
        IdempotencyKey.objects.select_related("order")
        .filter(customer_id=customer_id, key=idempotency_key)
        .first()
    )
    if record is None or record.order is None:  # pruned (or its order deleted) since: a rare race
        raise Conflict("this Idempotency-Key's first request is no longer remembered; send the request again")
    if record.request_fingerprint != _fingerprint(request):
        raise Unprocessable("this Idempotency-Key was used with a different request")
    return record.order, dict(record.response_body or {})


def idempotency_keys_prune(*, batch_size: int = 5000) -> int:
    """Forget keys older than their retention (the orders worker runs this periodically), in batches:
    short transactions, like the outbox's pruning. A repeat after that is a new order."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    return delete_in_batches(IdempotencyKey._meta.db_table, "created_at < %s", [cutoff], batch_size)


def order_approve(*, order_id: str) -> Order:
    """Approve a PENDING order; approving it again changes nothing, even once it is being (or was)
    cancelled, which only an APPROVED order can be: a redelivered ApproveOrder is not refused."""
    return _decide(
        order_id, OrderStatus.APPROVED, "approved", done=lambda order: order.status in APPROVED_ONCE
    )


def order_reject(*, order_id: str, reason: str) -> Order:
    """Reject a PENDING order with a reason; rejecting a REJECTED one again changes nothing."""
    return _decide(order_id, OrderStatus.REJECTED, "rejected", rejection_reason=reason[:255])


# Statuses only an order approved once can be in.
APPROVED_ONCE = (OrderStatus.APPROVED, OrderStatus.CANCELLING, OrderStatus.CANCELLED)


def order_cancel_request(*, order_id: str, reason: str, correlation_id: str) -> Order:
    """Ask for an APPROVED order's cancellation: it is CANCELLING, and in the same transaction its
    OrderCancellationRequested event starts the CancelOrder saga. Any other order is refused
    (``Conflict``), as is one whose cancellation was refused before: its shipment is on its way."""
    with OrdersUnit.scope() as unit:
        order = _lock_order(unit, order_id)
        if order.status != OrderStatus.APPROVED:
            raise Conflict(f"order {order_id} is {order.status}; only an APPROVED order can be cancelled")
        if order.cancellation_refused_reason:
            raise Conflict(f"order {order_id} cannot be cancelled: {order.cancellation_refused_reason}")
        order.status, order.cancellation_reason = OrderStatus.CANCELLING, reason
        unit.orders.changed(order)
        outbox.send(
            OrderCancellationRequested(
                customer_id=order.customer_id,
                total=order.total,
                currency=order.currency,
                country=order.shipping_address["country"],
                reason=reason,
            ),
            order_id=str(order.id),
            correlation_id=correlation_id,
        )
        return order


def order_cancellation_confirm(*, order_id: str) -> Order:
    """The CancelOrder saga is done: a CANCELLING order is CANCELLED; a CANCELLED one stays so."""
    return _decide(order_id, OrderStatus.CANCELLED, "cancelled", from_status=OrderStatus.CANCELLING)


def order_cancellation_refuse(*, order_id: str, reason: str) -> Order:
    """The cancellation cannot happen: a CANCELLING order is APPROVED again, with the reason why; one
    whose cancellation was refused already stays as it is."""
    return _decide(
        order_id,
        OrderStatus.APPROVED,
        "kept",
        from_status=OrderStatus.CANCELLING,
        done=lambda order: order.status == OrderStatus.APPROVED and bool(order.cancellation_refused_reason),
        cancellation_refused_reason=reason[:255],
    )


def _decide(
    order_id: str,
    status: OrderStatus,
    verb: str,
    *,
    from_status: OrderStatus = OrderStatus.PENDING,
    done: Callable[[Order], bool] | None = None,
    **changes: str,
) -> Order:
    """Move an order in ``from_status`` to ``status`` (with ``changes``). One already there (``done``
    says when: by default, when it is in ``status``) is left as it is; any other is refused."""
    with OrdersUnit.scope() as unit:
        order = _lock_order(unit, order_id)
        if done(order) if done is not None else order.status == status:
            return order
        if order.status != from_status:
            raise Conflict(f"order {order_id} is {order.status} and cannot be {verb}")
        order.status = status
        for name, value in changes.items():
            setattr(order, name, value)
        unit.orders.changed(order)
        return order


def _lock_order(unit: OrdersUnit, order_id: str) -> Order:
    """The order, locked; a command about an order this service never took is refused, not retried."""
    key = order_key(order_id)
    order = unit.orders.get(key) if key is not None else None
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def _fingerprint(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, default=str, sort_keys=True, separators=(",", ":"))  # Decimal: its text
    return hashlib.sha256(canonical.encode()).hexdigest()
