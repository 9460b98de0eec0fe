"""REST API of the orchestrator: read sagas, and the operator actions on stuck ones."""

from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.handlers import engine
from saga_common.auth import IsOperator
from saga_common.fields import QueryFilters, TextField, paginated
from saga_common.pagination import PAGE_PARAMETERS, paginated_response
from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep


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


def _sagas() -> QuerySet[SagaInstance]:
    return SagaInstance.objects.prefetch_related("steps", "history").order_by("-created_at", "id")


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
        return paginated_response(
            _sagas().filter(**filters.validated_data), request, self, SagaOutputSerializer
        )


class SagaDetailApi(OperatorApi):
    @extend_schema(responses=SagaOutputSerializer)
    def get(self, request: Request, saga_id: UUID) -> Response:
        return Response(SagaOutputSerializer(get_object_or_404(_sagas(), id=saga_id)).data)


class SagaOperatorActionApi(OperatorApi):
    """An operator action on one saga; subclasses name the engine method."""

    action: str

    @extend_schema(request=None, responses=SagaOutputSerializer)
    def post(self, request: Request, saga_id: UUID) -> Response:
        getattr(engine, self.action)(saga_id)
        return Response(SagaOutputSerializer(get_object_or_404(_sagas(), id=saga_id)).data)


class SagaRetryApi(SagaOperatorActionApi):
    action = "retry"


class SagaCompensateApi(SagaOperatorActionApi):
    action = "compensate"
