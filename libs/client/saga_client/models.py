"""What the four services answer (and what an order is placed with), as frozen msgspec structs.

They read what docs/contract.md promises, as the services' OpenAPI schemas describe it
(``docs/contract/openapi``; a test holds every model to its schema). Money is a decimal string on the
wire and a ``Decimal`` here, times are ``datetime``, ids the schema calls uuids are ``UUID``. A field a
newer server adds is ignored, so an older client keeps working (within a major version the contract
only gains fields). Statuses and states stay strings: a newer server's new status must not break an
older client's decoding; the values each takes today are listed on the field.
"""

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

T = TypeVar("T")


class Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Every model: immutable, built with keywords, tolerant of fields it does not know."""


# --- orders -----------------------------------------------------------------------------------


class OrderItem(Model, frozen=True, kw_only=True):
    sku: str
    quantity: int
    unit_price: Decimal


class ShippingAddress(Model, frozen=True, kw_only=True, omit_defaults=True):
    name: str
    line1: str
    line2: str = ""  # optional: not sent when empty, and "" when an order was placed without it
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2


class OrderRequest(Model, frozen=True, kw_only=True, omit_defaults=True):
    """The body of ``place_order``. ``customer_id``, when None (not sent), is the token's customer
    (an operator must name one)."""

    currency: str  # ISO 4217
    items: tuple[OrderItem, ...]
    shipping_address: ShippingAddress
    customer_id: str | None = None


class Order(Model, frozen=True, kw_only=True):
    id: UUID
    customer_id: str
    status: str  # PENDING, APPROVED, REJECTED, CANCELLING, CANCELLED
    total: Decimal
    currency: str
    items: tuple[OrderItem, ...]
    shipping_address: ShippingAddress
    rejection_reason: str | None
    created_at: datetime
    updated_at: datetime
    cancellation_reason: str | None = None  # the customer's, once asked to cancel
    cancellation_refused_reason: str | None = None  # why it stayed APPROVED (its shipment went out)


# --- payments ---------------------------------------------------------------------------------


class Account(Model, frozen=True, kw_only=True):
    customer_id: str
    currency: str
    credit_limit: Decimal
    available: Decimal  # credit_limit - open authorizations - captured


class Payment(Model, frozen=True, kw_only=True):
    id: UUID
    order_id: str
    amount: Decimal
    currency: str
    status: str  # AUTHORIZED, DECLINED, VOIDED, CAPTURED, REFUNDED


# --- shipping ---------------------------------------------------------------------------------


class Shipment(Model, frozen=True, kw_only=True):
    id: UUID
    order_id: str
    status: str  # SCHEDULED, DISPATCHED, CANCELLED
    country: str
    released: bool = True  # False: held until its order's money is captured (not dispatchable)


# --- orchestrator -----------------------------------------------------------------------------


class SagaStep(Model, frozen=True, kw_only=True):
    """One action a saga took: a forward step, a compensation or the final command."""

    name: str
    status: str  # STARTED, RETRY_WAIT, SUCCEEDED, FAILED, TIMED_OUT, ABANDONED
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    kind: str  # FORWARD, COMPENSATION, FINAL
    command_type: str
    reply_type: str  # "" until answered
    participant: str | None  # the service that handles the command; None: a command no longer known
    max_attempts: int  # the attempt after which the saga gives up (counted like attempts)
    deadline_at: datetime | None  # when the current attempt times out; None once the step is over


class SagaEvent(Model, frozen=True, kw_only=True):
    """One entry of a saga's history: what it sent, received, ignored, and why."""

    at: datetime
    event: str  # SagaStarted, CommandSent, ReplyReceived, StateChanged, StepRetried, ...
    message_type: str
    message_id: str
    detail: str


class Saga(Model, frozen=True, kw_only=True):
    id: UUID
    type: str  # e.g. place_order
    order_id: str
    version: int = 1  # the version of its type's definition it runs, to its end
    state: str  # RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED
    current_step: str  # "" once the saga has ended
    steps: tuple[SagaStep, ...]
    history: tuple[SagaEvent, ...]
    created_at: datetime
    updated_at: datetime
    trace_id: str | None = None  # the order's trace (W3C trace id); None: no trace, or an older server


class DefinitionAction(Model, frozen=True, kw_only=True):
    """A command a saga definition sends, and what answers it."""

    name: str
    command: str | None
    participant: str | None
    replies: tuple[str, ...]
    reply_hooks: tuple[str, ...]  # the replies whose content the saga keeps


class DefinitionStep(DefinitionAction, frozen=True, kw_only=True):
    index: int
    group: int  # steps of one group are sent together
    parallel: bool
    pivot: bool
    compensation: DefinitionAction | None


class SagaDefinition(Model, frozen=True, kw_only=True):
    """One version of a saga definition, as the orchestrator runs it."""

    type: str
    version: int
    starts_new_sagas: bool
    unfinished: int  # sagas running, compensating or FAILED on it: retire a version at 0
    steps: tuple[DefinitionStep, ...]
    groups: tuple[tuple[int, ...], ...]
    pivot: int | None
    on_compensated: DefinitionAction | None
    mermaid: str  # a Mermaid flowchart of it


class SagaCounts(Model, frozen=True, kw_only=True):
    counts: dict[str, int]  # every state, zeros included
    total: int


# --- every service: paginated lists, messaging health and dead letters ------------------------


class Page(Model, Generic[T], frozen=True, kw_only=True):
    """One page of a list (``?limit=&offset=``); ``next`` and ``previous`` are absolute URLs."""

    count: int
    next: str | None
    previous: str | None
    results: tuple[T, ...]


class TopicLag(Model, frozen=True, kw_only=True):
    topic: str
    lag: int  # messages this service's consumer group has not committed


class TopicPending(Model, frozen=True, kw_only=True):
    topic: str
    pending: int  # PENDING dead letters that came from this topic


class TableSize(Model, frozen=True, kw_only=True):
    table: str
    rows: int | None  # PostgreSQL's estimate as of the table's last VACUUM or ANALYZE; None: never
    bytes: int  # with its indexes and TOAST


class MessagingHealth(Model, frozen=True, kw_only=True):
    service: str
    observed_at: datetime | None  # when the worker measured consumer_lag; None: never
    outbox_backlog: int
    outbox_oldest_age_seconds: float | None
    consumer_lag: tuple[TopicLag, ...]
    dead_letters_pending: int
    dead_letters_by_topic: tuple[TopicPending, ...]
    tables: tuple[TableSize, ...] = ()  # each of the service's tables; () from an older server


class DeadLetterHeader(Model, frozen=True, kw_only=True):
    name: str
    value: str | None  # None: the header had no value


class DeadLetter(Model, frozen=True, kw_only=True):
    """A message a service's consumer gave up on, kept so an operator can replay or discard it.

    The record's key, headers and payload are escaped text (undecodable bytes as ``\\xNN``, controls as
    ``\\n`` or ``\\uNNNN``, a backslash doubled), for reading, not for replaying. The defaults are what an
    older server, which did not send them, leaves.
    """

    id: UUID
    topic: str
    message_id: str | None
    message_type: str | None
    key: str | None = None
    order_id: str | None = None  # the order the record concerns (its key), if the key reads as one
    headers: tuple[DeadLetterHeader, ...] = ()
    payload: str | None = None  # at most the first 4096 bytes' text
    payload_truncated: bool = False
    payload_size: int = 0  # the whole payload's length in bytes
    error: str
    attempts: int
    # Where the newest record of it was (information: offsets begin again when a topic is recreated),
    # and how often the message failed (it is PENDING again when it fails after a replay or discard).
    partition: int = 0
    offset: int = 0
    occurrences: int = 1
    received_at: datetime
    status: str  # PENDING, REPLAYED, DISCARDED
    acted_by: str | None
    acted_at: datetime | None
