"""Reads of the payments service."""

from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from payments.models import Account, Payment


def account_get(*, customer_id: str, visible_to: str | None = None) -> Account:
    """The account; 404 if unknown or (with ``visible_to``) another customer's."""
    if visible_to is not None and visible_to != customer_id:
        raise Http404
    return get_object_or_404(Account, customer_id=customer_id)


def account_available(account: Account) -> Decimal:
    """Credit limit minus open authorizations minus captured payments (kept as ``held``)."""
    return account.credit_limit - account.held


def payment_list(*, order_id: str, visible_to: str | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.filter(order_id=order_id)
    return payments if visible_to is None else payments.filter(customer_id=visible_to)
