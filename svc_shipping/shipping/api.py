"""REST API of the shipping service (docs/contract.md, "REST contract")."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saga_common.web.auth import IsOperator, visible_customer
from saga_common.web.fields import OrderIdFilter, QueryFilters, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response
from shipping import selectors, services
from shipping.models import Shipment


class ShipmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shipment
        fields = ["id", "order_id", "status", "country", "released"]


class ShipmentListApi(APIView):
    class FilterSerializer(QueryFilters):
        order_id = OrderIdFilter()

    OutputSerializer = ShipmentOutputSerializer

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


class ShipmentDispatchApi(APIView):
    """Send a SCHEDULED shipment on its way (operators only); 409 for a CANCELLED one, or one held until
    its order's money is captured. A dispatched shipment can no longer be cancelled, so its order's
    cancellation is refused."""

    permission_classes = [IsOperator]

    @extend_schema(operation_id="shipments_dispatch", request=None, responses=ShipmentOutputSerializer)
    def post(self, request: Request, shipment_id: UUID) -> Response:
        shipment = services.shipment_dispatch(shipment_id=str(shipment_id))
        return Response(ShipmentOutputSerializer(shipment).data)
