"""Reads of the orders service."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from orders.models import Order


def order_get(*, order_id: str, visible_to: str | None = None) -> Order:
    """The order; 404 if unknown or (with ``visible_to``) another customer's."""
    orders = Order.objects.all() if visible_to is None else Order.objects.filter(customer_id=visible_to)
    return get_object_or_404(orders, id=order_id)


def order_list(
    *, customer_id: str | None = None, status: str | None = None, visible_to: str | None = None
) -> QuerySet[Order]:
    orders = Order.objects.all() if visible_to is None else Order.objects.filter(customer_id=visible_to)
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if status is not None:
        orders = orders.filter(status=status)
    return orders
