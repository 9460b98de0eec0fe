"""Reads of the shipping service."""

from django.db.models import QuerySet

from shipping.models import Shipment


def shipment_list(*, order_id: str) -> QuerySet[Shipment]:
    return Shipment.objects.filter(order_id=order_id)
