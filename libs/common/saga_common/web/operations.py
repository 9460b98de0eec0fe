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
from saga_common.operations.readable import (
    CUT,
    PART_LIMIT,
    PAYLOAD_LIMIT,
    clipped,
    order_id_of,
    preview,
    readable_headers,
)
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


class TableSizeSerializer(serializers.Serializer):
    table = serializers.CharField()
    rows = serializers.IntegerField(
        allow_null=True,
        help_text="PostgreSQL's estimate, as of the table's last VACUUM or ANALYZE (null: never analysed)",
    )
    bytes = serializers.IntegerField(help_text="the table with its indexes and TOAST")


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
    tables = TableSizeSerializer(many=True, help_text="each of the service's tables, by name")


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


class DeadLetterHeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True, help_text="null: the header had no value")


# With what its record says (saga_common.operations.readable): an operator must see which order a dead
# letter concerns, and read it, before replaying or discarding it. (A comment, not a docstring, which
# drf-spectacular would publish as the schema's description.)
class DeadLetterSerializer(serializers.ModelSerializer):
    status = DeadLetterStatusField()
    key = serializers.SerializerMethodField(
        help_text=f"the record's key as escaped text (null: none); ends in {CUT} if cut at {PART_LIMIT} bytes"
    )
    order_id = serializers.SerializerMethodField(
        help_text="the order the record concerns: its key, where that is an order id (else null)"
    )
    headers = serializers.SerializerMethodField(
        help_text="the record's headers in order, repeats kept, names and values as escaped text"
    )
    payload = serializers.SerializerMethodField(
        help_text=f"the record's value as escaped text, at most its first {PAYLOAD_LIMIT} bytes (null: none)"
    )
    payload_truncated = serializers.SerializerMethodField(
        help_text=f"the value is longer than {PAYLOAD_LIMIT} bytes: payload shows only their text"
    )
    payload_size = serializers.SerializerMethodField(help_text="the whole value's length in bytes")

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "topic",
            "message_id",
            "message_type",
            "key",
            "order_id",
            "headers",
            "payload",
            "payload_truncated",
            "payload_size",
            "error",
            "attempts",
            "partition",
            "offset",
            "occurrences",
            "received_at",
            "status",
            "acted_by",
            "acted_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_key(self, letter: DeadLetter) -> str | None:
        return clipped(letter.key)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_order_id(self, letter: DeadLetter) -> str | None:
        return order_id_of(letter.key)

    @extend_schema_field(DeadLetterHeaderSerializer(many=True))
    def get_headers(self, letter: DeadLetter) -> list[dict[str, str | None]]:
        return readable_headers(letter.headers)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_payload(self, letter: DeadLetter) -> str | None:
        shown = preview(letter.payload)
        return None if shown is None else shown.text

    @extend_schema_field(serializers.BooleanField())
    def get_payload_truncated(self, letter: DeadLetter) -> bool:
        return letter.payload is not None and len(letter.payload) > PAYLOAD_LIMIT

    @extend_schema_field(serializers.IntegerField())
    def get_payload_size(self, letter: DeadLetter) -> int:
        return 0 if letter.payload is None else len(letter.payload)


class OperatorApi(APIView):
    """Messaging internals: operators only."""

    permission_classes = [IsOperator]


class MessagingHealthApi(OperatorApi):
    """Outbox backlog, consumer lag (as the worker last measured it), pending dead letters and the
    tables' sizes."""

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
