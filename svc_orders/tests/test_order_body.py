"""The POST renders an order by hand (``orders.api.order_body``); it must be exactly what the
serializer (the schema's, and the reads') renders."""

from decimal import Decimal

import pytest
from django.utils import timezone

from orders.api import OrderOutputSerializer, order_body
from orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "N", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


@pytest.mark.parametrize(
    ("items", "address", "status", "reason"),
    [
        ([{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}], ADDRESS, OrderStatus.PENDING, None),
        (
            [
                {"sku": "a", "quantity": 1, "unit_price": "0.01"},
                {"sku": "b", "quantity": 10_000, "unit_price": "999999.99"},
            ],
            {**ADDRESS, "line2": "", "extra": "not in the contract"},
            OrderStatus.REJECTED,
            "we do not ship to AQ",
        ),
        (
            [{"sku": "c", "quantity": 3, "unit_price": "7"}],
            {**ADDRESS, "line2": "Hof"},
            OrderStatus.APPROVED,
            None,
        ),
    ],
)
def test_the_hand_built_body_is_the_serializers(
    items: list[dict[str, object]], address: dict[str, str], status: str, reason: str | None
) -> None:
    order = Order.objects.create(
        customer_id="c-1",
        currency="EUR",
        items=items,
        shipping_address=address,
        total=Decimal("1000.5"),
        status=status,
        rejection_reason=reason,
    )
    order.refresh_from_db()  # as the database gives it back (microseconds, the time zone)
    assert order_body(order) == dict(OrderOutputSerializer(order).data)
    order.updated_at = timezone.now().replace(microsecond=0)  # a whole second: no fraction printed
    assert order_body(order) == dict(OrderOutputSerializer(order).data)
