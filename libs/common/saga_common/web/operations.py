"""REST API every service serves to operators about its messaging: health, and the dead letters.

Mounted by ``saga_common.web.urls`` under ``/api/v1/operations/``; operators only (a customer's token
is a 403, no token a 401). What the actions do, and why a replay happens once, is in
``saga_common.operations.dead_letters``.
"""

from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saga_common.models import DeadLetter, DeadLetterStatus
from saga_common.operations.dead_letters import dead_letter_discard, dead_letter_list, dead_letter_replay
from saga_common.operations.health import messaging_health
from saga_common.web.auth import IsOperator, principal
from saga_common.web.fields import QueryFilters, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response


class TopicLagSerializer(serializers.Serializer):
    topic = serializers.CharField()
    lag = serializers.IntegerField(
        help_text="messages on the topic this service's consumer group has not committed"
    )


class TopicPendingSerializer(serializers.Serializer):
    topic = serializers.CharField()
    pending = serializers.IntegerField(help_text="PENDING dead letters that came from this topic")


class MessagingHealthSerializer(serializers.Serializer):
    service = serializers.CharField()
    observed_at = serializers.DateTimeField(
        allow_null=True, help_text="when the worker measured consumer_lag (null: it never has)"
    )
    outbox_backlog = serializers.IntegerField(help_text="outbox rows not yet published")
    outbox_oldest_age_seconds = serializers.FloatField(
        allow_null=True, help_text="age of the oldest unpublished outbox row (null: none)"
    )
    consumer_lag = TopicLagSerializer(many=True)
    dead_letters_pending = serializers.IntegerField()
    dead_letters_by_topic = TopicPendingSerializer(many=True)


# A pattern rather than an enum: a second choice set on a field named "status" would make
# drf-spectacular rename every service's own StatusEnum component (to OrderOutputStatusEnum and the
# like), and clients generated from the schemas would break.
@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^(?:{'|'.join(DeadLetterStatus.values)})$",
        "description": "PENDING (waiting for an operator), REPLAYED or DISCARDED",
    }
)
class DeadLetterStatusField(serializers.CharField):
    pass


class DeadLetterSerializer(serializers.ModelSerializer):
    status = DeadLetterStatusField()

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "topic",
            "message_id",
            "message_type",
            "error",
            "attempts",
            "received_at",
            "status",
            "acted_by",
            "acted_at",
        ]


class OperatorApi(APIView):
    """Messaging internals: operators only."""

    permission_classes = [IsOperator]


class MessagingHealthApi(OperatorApi):
    """Outbox backlog, consumer lag (as the worker last measured it) and pending dead letters."""

    @extend_schema(operation_id="operations_messaging", responses=MessagingHealthSerializer)
    def get(self, request: Request) -> Response:
        return Response(MessagingHealthSerializer(messaging_health()).data)


class DeadLetterListApi(OperatorApi):
    class FilterSerializer(QueryFilters):
        status = serializers.ChoiceField(choices=DeadLetterStatus.values, required=False)

    @extend_schema(
        operation_id="dead_letters_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(DeadLetterSerializer, "PaginatedDeadLetterList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            dead_letter_list(**filters.validated_data), request, self, DeadLetterSerializer
        )


class DeadLetterReplayApi(OperatorApi):
    """Put a PENDING dead letter's message back on its topic, byte for byte, once; 409 otherwise."""

    @extend_schema(operation_id="dead_letters_replay", request=None, responses=DeadLetterSerializer)
    def post(self, request: Request, dead_letter_id: UUID) -> Response:
        letter = dead_letter_replay(dead_letter_id=dead_letter_id, operator=principal(request).subject)
        return Response(DeadLetterSerializer(letter).data)


class DeadLetterDiscardApi(OperatorApi):
    """Mark a PENDING dead letter as not to be handled; 409 otherwise."""

    @extend_schema(operation_id="dead_letters_discard", request=None, responses=DeadLetterSerializer)
    def post(self, request: Request, dead_letter_id: UUID) -> Response:
        letter = dead_letter_discard(dead_letter_id=dead_letter_id, operator=principal(request).subject)
        return Response(DeadLetterSerializer(letter).data)
