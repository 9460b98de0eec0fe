"""REST API of the orders service (docs/contract.md, "REST contract")."""

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors, services
from orders.models import Order, OrderStatus
from saga_common.errors import Conflict, Forbidden
from saga_common.money import to_money
from saga_common.web.auth import principal, visible_customer
from saga_common.web.correlation import correlation_id_of
from saga_common.web.fields import CountField, PatternField, PriceField, QueryFilters, TextField, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response

MAX_ORDER_TOTAL = to_money("999999999999.99")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class ItemSerializer(serializers.Serializer):
    sku = PatternField(r"^[A-Za-z0-9._-]+$", max_length=64)
    quantity = CountField(min_value=1, max_value=10_000)
    unit_price = PriceField()


class AddressSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    line1 = TextField(max_length=200)
    line2 = TextField(max_length=200, required=False, allow_blank=True)
    city = TextField(max_length=100)
    postal_code = TextField(max_length=20)
    country = PatternField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2")


class OrderOutputSerializer(serializers.ModelSerializer):
    items = serializers.ListField(child=ItemSerializer())
    shipping_address = AddressSerializer()

    class Meta:
        model = Order
        fields = [
            "id",
            "customer_id",
            "status",
            "total",
            "currency",
            "items",
            "shipping_address",
            "rejection_reason",
            "cancellation_reason",
            "cancellation_refused_reason",
            "created_at",
            "updated_at",
        ]


def order_body(order: Order) -> dict[str, Any]:
    """What ``OrderOutputSerializer`` renders for ``order``, built directly: the POST's hot path.

    The ModelSerializer builds its fields from the model for every instance, which was a sixth of an
    order's CPU in the web. A test holds the two equal (``tests/test_order_body.py``); the serializer
    stays the schema's and the reads' renderer.
    """
    return {
        "id": str(order.id),
        "customer_id": order.customer_id,
        "status": order.status,
        "total": _money(order.total),
        "currency": order.currency,
        "items": [
            {"sku": item["sku"], "quantity": int(item["quantity"]), "unit_price": _money(item["unit_price"])}
            for item in order.items
        ],
        "shipping_address": {
            name: order.shipping_address[name] for name in _ADDRESS_FIELDS if name in order.shipping_address
        },
        "rejection_reason": order.rejection_reason,
        "cancellation_reason": order.cancellation_reason,
        "cancellation_refused_reason": order.cancellation_refused_reason,
        "created_at": _timestamp(order.created_at),
        "updated_at": _timestamp(order.updated_at),
    }


_ADDRESS_FIELDS = tuple(AddressSerializer().fields)


def _money(value: Any) -> str:
    return str(to_money(value))


def _timestamp(value: datetime) -> str:
    """As DRF renders a datetime: ISO 8601 in the current time zone (UTC here), UTC written ``Z``."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, pattern=IDEMPOTENCY_KEY.pattern
)


def _bad_idempotency_key() -> Response:
    return Response(
        {"detail": "Idempotency-Key must be 1-255 printable ASCII characters"},
        status=status.HTTP_400_BAD_REQUEST,
    )


class OrderListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        customer_id = PatternField(
            r"^[A-Za-z0-9._:-]+$",
            max_length=64,
            required=False,
            help_text="the token's customer if omitted; a customer may only name itself",
        )
        currency = PatternField(r"^[A-Z]{3}$", help_text="ISO 4217")
        items = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=100)
        shipping_address = AddressSerializer()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if services.order_total(attrs["items"]) > MAX_ORDER_TOTAL:
                raise serializers.ValidationError({"items": "order total is too large"})
            return attrs

    class FilterSerializer(QueryFilters):
        customer_id = TextField(max_length=64, required=False)
        status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)

    @extend_schema(
        operation_id="orders_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(OrderOutputSerializer, "PaginatedOrderList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = selectors.order_list(**filters.validated_data, visible_to=visible_customer(request))
        return paginated_response(orders, request, self, OrderOutputSerializer)

    @extend_schema(
        operation_id="orders_create",
        request=InputSerializer,
        responses={201: OrderOutputSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            return _bad_idempotency_key()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_input = {**serializer.validated_data, "customer_id": _ordering_customer(request, serializer)}
        body: dict[str, Any]
        try:
            with transaction.atomic():
                order = services.order_place(**order_input, correlation_id=correlation_id_of(request))
                body = order_body(order)
                if key is not None:
                    services.idempotency_key_claim(
                        idempotency_key=key, order=order, request=order_input, response_body=body
                    )
        except services.IdempotencyKeyUsed:  # the order above was rolled back: answer as the first time
            order, body = services.idempotency_key_replay(
                customer_id=order_input["customer_id"], idempotency_key=key or "", request=order_input
            )
        return Response(
            body, status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/orders/{order.id}"}
        )


def _ordering_customer(request: Request, serializer: serializers.Serializer) -> str:
    """Customers order for themselves; operators name the customer."""
    caller = principal(request)
    named = serializer.validated_data.get("customer_id")
    if caller.customer_id is not None and named in (None, caller.customer_id):
        return caller.customer_id
    if caller.is_operator and named is not None:
        return str(named)
    if caller.is_operator:
        raise serializers.ValidationError({"customer_id": "an operator must name the customer"})
    raise Forbidden("a customer can only place its own orders")


class OrderDetailApi(APIView):
    @extend_schema(operation_id="orders_retrieve", responses=OrderOutputSerializer)
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get(order_id=order_id, visible_to=visible_customer(request))
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    """Ask to cancel an APPROVED order (its customer, or an operator): 202 with the order, now
    CANCELLING; its CancelOrder saga then makes it CANCELLED (refunded, shipment cancelled), or APPROVED
    again with ``cancellation_refused_reason`` (its shipment was dispatched). 409 for any other order."""

    class InputSerializer(serializers.Serializer):
        reason = TextField(max_length=200, required=False, allow_blank=True)

    @extend_schema(
        operation_id="orders_cancel",
        request=InputSerializer,
        responses={202: OrderOutputSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
    )
    def post(self, request: Request, order_id: str) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            return _bad_idempotency_key()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.order_get(order_id=order_id, visible_to=visible_customer(request))  # 404: not yours
        reason = serializer.validated_data.get("reason", "")
        cancel_request = {"cancel": str(order.id), "reason": reason}  # what the key's fingerprint covers
        body: dict[str, Any]
        try:
            with transaction.atomic():
                order = services.order_cancel_request(
                    order_id=str(order.id), reason=reason, correlation_id=correlation_id_of(request)
                )
                body = order_body(order)
                if key is not None:
                    services.idempotency_key_claim(
                        idempotency_key=key, order=order, request=cancel_request, response_body=body
                    )
        except services.IdempotencyKeyUsed:  # the change above was rolled back: answer as the first time
            order, body = services.idempotency_key_replay(
                customer_id=order.customer_id, idempotency_key=key or "", request=cancel_request
            )
        except Conflict:
            # a repeat with the key finds the order CANCELLING (its first request did that): answer as
            # that one did; without a key, or with one never used, the refusal stands
            if key is None or not services.idempotency_key_known(
                customer_id=order.customer_id, idempotency_key=key
            ):
                raise
            order, body = services.idempotency_key_replay(
                customer_id=order.customer_id, idempotency_key=key, request=cancel_request
            )
        return Response(body, status=status.HTTP_202_ACCEPTED)
