"""REST API of the orchestrator: read sagas (and how many are in each state), and the operator actions
on stuck ones."""

from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import selectors, services
from saga_common.sagas.definition import SagaState
from saga_common.sagas.models import SagaEvent, SagaInstance, SagaStep
from saga_common.web.auth import IsOperator
from saga_common.web.fields import OrderIdFilter, QueryFilters, TextField, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response


class StepSerializer(serializers.ModelSerializer):
    participant = serializers.SerializerMethodField(
        help_text="the service that handles the step's command (null: a command this version does not know)"
    )
    max_attempts = serializers.IntegerField(
        source="give_up_after",
        help_text="the attempt after which the saga gives up on the step (counted like attempts: an "
        "operator's retry grants a new round)",
    )
    deadline_at = serializers.DateTimeField(
        allow_null=True,
        help_text="when the current attempt times out and the command is sent again (or, after the "
        "last attempt, given up); null once the step is over",
    )

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
            "participant",
            "max_attempts",
            "deadline_at",
        ]

    def get_participant(self, step: SagaStep) -> str | None:
        return selectors.step_participant(step.command_type)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SagaEvent
        fields = ["at", "event", "message_type", "message_id", "detail"]


class SagaOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="saga_type")
    version = serializers.IntegerField(
        min_value=1, help_text="the version of its type's definition the saga runs, to its end"
    )
    steps = StepSerializer(many=True)
    history = EventSerializer(many=True)
    trace_id = serializers.SerializerMethodField(
        help_text="the order's trace (W3C trace id, 32 hex digits) across every service, for a tracing "
        "tool to show; null when its OrderCreated carried no trace context"
    )

    class Meta:
        model = SagaInstance
        fields = [
            "id",
            "type",
            "version",
            "order_id",
            "state",
            "current_step",
            "steps",
            "history",
            "created_at",
            "updated_at",
            "trace_id",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_trace_id(self, saga: SagaInstance) -> str | None:
        return saga.trace_id or None


class OperatorApi(APIView):
    """Sagas are internal: only operators read them or act on them."""

    permission_classes = [IsOperator]


class TypeFilter(QueryFilters):
    type = TextField(max_length=64, required=False, help_text="the saga type, e.g. place_order")


class SagaListApi(OperatorApi):
    class FilterSerializer(TypeFilter):
        order_id = OrderIdFilter(required=False)
        version = serializers.IntegerField(min_value=1, max_value=32767, required=False)
        state = serializers.ChoiceField(choices=[s.value for s in SagaState], required=False)

    @extend_schema(
        operation_id="sagas_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(SagaOutputSerializer, "PaginatedSagaList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = filters.validated_data
        sagas = selectors.saga_list(
            order_id=found.get("order_id"),
            state=found.get("state"),
            saga_type=found.get("type"),
            version=found.get("version"),
        )
        return paginated_response(sagas, request, self, SagaOutputSerializer)


SagaCountsSerializer = inline_serializer(
    name="SagaCounts",
    fields={
        "counts": inline_serializer(
            name="SagaCountsByState",
            fields={state.value: serializers.IntegerField(min_value=0) for state in SagaState},
        ),
        "total": serializers.IntegerField(min_value=0),
    },
)


class SagaCountsApi(OperatorApi):
    """How many sagas are in each state (every state, zeros included), optionally of one type."""

    @extend_schema(operation_id="sagas_counts", parameters=[TypeFilter], responses=SagaCountsSerializer)
    def get(self, request: Request) -> Response:
        filters = TypeFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        counts = selectors.saga_counts(saga_type=filters.validated_data.get("type"))
        return Response({"counts": counts, "total": sum(counts.values())})


class SagaDetailApi(OperatorApi):
    @extend_schema(operation_id="sagas_retrieve", responses=SagaOutputSerializer)
    def get(self, request: Request, saga_id: UUID) -> Response:
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)


class SagaRetryApi(OperatorApi):
    """Send a FAILED saga's stopped step again, with a fresh round of attempts."""

    @extend_schema(operation_id="sagas_retry", request=None, responses=SagaOutputSerializer)
    def post(self, request: Request, saga_id: UUID) -> Response:
        services.saga_retry(saga_id=saga_id)
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)


class SagaCompensateApi(OperatorApi):
    """Abandon a saga before its pivot (or resume its failed compensation); 409 once the pivot was sent."""

    @extend_schema(operation_id="sagas_compensate", request=None, responses=SagaOutputSerializer)
    def post(self, request: Request, saga_id: UUID) -> Response:
        services.saga_compensate(saga_id=saga_id)
        return Response(SagaOutputSerializer(selectors.saga_get(saga_id=saga_id)).data)


class ActionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="the step's name (its command factory's)")
    command = serializers.CharField(allow_null=True, help_text="the command it sends")
    participant = serializers.CharField(allow_null=True, help_text="the service that handles the command")
    replies = serializers.ListField(child=serializers.CharField(), help_text="the replies that answer it")
    reply_hooks = serializers.ListField(
        child=serializers.CharField(), help_text="the replies whose content the saga keeps in its data"
    )


class DefinitionStepSerializer(ActionSerializer):
    index = serializers.IntegerField(min_value=0)
    group = serializers.IntegerField(min_value=0, help_text="steps of one group are sent together")
    parallel = serializers.BooleanField(help_text="whether it is a branch of a parallel group")
    pivot = serializers.BooleanField(help_text="once the pivot succeeds, the saga only goes forward")
    compensation = ActionSerializer(allow_null=True, help_text="what undoes it (null: nothing needs to)")


class DefinitionSerializer(serializers.Serializer):
    type = serializers.CharField()
    version = serializers.IntegerField(min_value=1)
    starts_new_sagas = serializers.BooleanField(help_text="whether new sagas of its type start on it")
    unfinished = serializers.IntegerField(
        min_value=0, help_text="sagas running, compensating or FAILED on it: retire a version at 0"
    )
    steps = DefinitionStepSerializer(many=True)
    groups = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField(min_value=0)))
    pivot = serializers.IntegerField(allow_null=True, min_value=0, help_text="the pivot's step index")
    on_compensated = ActionSerializer(allow_null=True, help_text="sent once every step was compensated")
    mermaid = serializers.CharField(help_text="a Mermaid flowchart of the definition")


class SagaDefinitionsApi(OperatorApi):
    """Every saga definition and version this orchestrator runs: steps, parallel groups, pivot,
    compensations, replies, how many sagas still run it, and a Mermaid diagram of it."""

    @extend_schema(operation_id="sagas_definitions", responses=DefinitionSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(DefinitionSerializer(selectors.saga_definitions(), many=True).data)
