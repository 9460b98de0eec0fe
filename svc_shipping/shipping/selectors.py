"""Reads of the shipping service."""

from django.db.models import QuerySet

from shipping.models import Shipment


def shipment_list(*, order_id: str, visible_to: str | None = None) -> QuerySet[Shipment]:
    shipments = Shipment.objects.filter(order_id=order_id)
    return shipments if visible_to is None else shipments.filter(customer_id=visible_to)
