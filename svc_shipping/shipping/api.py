"""REST API of the shipping service (docs/contract.md, "REST contract")."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saga_common.web.auth import visible_customer
from saga_common.web.fields import OrderIdFilter, QueryFilters, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response
from shipping import selectors
from shipping.models import Shipment


class ShipmentListApi(APIView):
    class FilterSerializer(QueryFilters):
        order_id = OrderIdFilter()

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Shipment
            fields = ["id", "order_id", "status", "country"]

    @extend_schema(
        operation_id="shipments_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(OutputSerializer, "PaginatedShipmentList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        shipments = selectors.shipment_list(**filters.validated_data, visible_to=visible_customer(request))
        return paginated_response(shipments, request, self, self.OutputSerializer)
