"""Reads of the orders service."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from orders.models import Order


def order_get(*, order_id: str) -> Order:
    return get_object_or_404(Order, id=order_id)


def order_list(*, customer_id: str | None = None, status: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.all()
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if status is not None:
        orders = orders.filter(status=status)
    return orders
