"""REST API of the orchestrator: read sagas, and the operator actions on stuck ones."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import selectors, services
from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep
from saga_common.web.auth import IsOperator
from saga_common.web.fields import QueryFilters, TextField, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = SagaStep
        fields = [
            "name",
            "status",
            "started_at",
            "finished_at",
            "attempts",
            "kind",
            "command_type",
            "reply_type",
        ]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SagaEvent
        fields = ["at", "event", "message_type", "message_id", "detail"]


class SagaOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="saga_type")
    steps = StepSerializer(many=True)
    history = EventSerializer(many=True)

    class Meta:
        model = SagaInstance
        fields = [
            "id",
            "type",
            "order_id",
            "state",
            "current_step",
            "steps",
            "history",
            "created_at",
            "updated_at",
        ]


class OperatorApi(APIView):
    """Sagas are internal: only operators read them or act on them."""

    permission_classes = [IsOperator]


class SagaListApi(OperatorApi):
    class FilterSerializer(QueryFilters):
        order_id = TextField(max_length=64, required=False)
        state = serializers.ChoiceField(choices=[s.value for s in SagaState], required=False)

    @extend_schema(
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(SagaOutputSerializer, "PaginatedSagaList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sagas = selectors.saga_list(**filters.validated_data)
        return paginated_response(sagas, request, self, SagaOutputSerializer)


class SagaDetailApi(OperatorApi):
    @extend_schema(responses=SagaOutputSerializer)
    def get(self, request: Request, saga_id: UUID) -> Response:
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)


class SagaRetryApi(OperatorApi):
    """Send a FAILED saga's stopped step again, with a fresh round of attempts."""

    @extend_schema(request=None, responses=SagaOutputSerializer)
    def post(self, request: Request, saga_id: UUID) -> Response:
        services.saga_retry(saga_id=saga_id)
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)


class SagaCompensateApi(OperatorApi):
    """Abandon a saga before its pivot (or resume its failed compensation); 409 once the pivot was sent."""

    @extend_schema(request=None, responses=SagaOutputSerializer)
    def post(self, request: Request, saga_id: UUID) -> Response:
        services.saga_compensate(saga_id=saga_id)
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)
