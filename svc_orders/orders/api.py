"""REST API of the orders service (DESIGN.md, "REST contract")."""

import re
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors, services
from orders.models import Order, OrderStatus
from saga_common.api import correlation_id_of
from saga_common.money import to_money

MAX_ORDER_TOTAL = to_money("999999999999.99")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class ItemSerializer(serializers.Serializer):
    sku = serializers.RegexField(r"^[A-Za-z0-9._-]+$", max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=to_money("0.01"))


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2")


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
            "created_at",
            "updated_at",
        ]


class OrderListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        customer_id = serializers.RegexField(r"^[A-Za-z0-9._:-]+$", max_length=64)
        currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217")
        items = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=100)
        shipping_address = AddressSerializer()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if services.order_total(attrs["items"]) > MAX_ORDER_TOTAL:
                raise serializers.ValidationError({"items": "order total is too large"})
            return attrs

    class FilterSerializer(serializers.Serializer):
        customer_id = serializers.CharField(max_length=64, required=False)
        status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses=OrderOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.order_list(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: OrderOutputSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            return Response(
                {"detail": "Idempotency-Key must be 1-255 printable ASCII characters"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            order, replayed = services.order_place(
                **serializer.validated_data, correlation_id=correlation_id_of(request), idempotency_key=key
            )
            body = replayed if replayed is not None else OrderOutputSerializer(order).data
            if key is not None and replayed is None:
                services.idempotency_remember_response(idempotency_key=key, order=order, response_body=body)
        return Response(
            body, status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/orders/{order.id}"}
        )


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderOutputSerializer)
    def get(self, request: Request, order_id: str) -> Response:
        return Response(OrderOutputSerializer(selectors.order_get(order_id=order_id)).data)
