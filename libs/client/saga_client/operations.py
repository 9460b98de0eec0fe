"""Which REST operation each ShopClient method calls: the service, the HTTP method, the path, the
operation id in that service's OpenAPI schema, and the model its answer is read as.

``client.py`` sends every request through this table, and the conformance test
(``tests/test_schema_conformance.py``) walks it against the checked-in schemas
(``docs/contract/openapi/<service>.json``), so a renamed path or a changed answer fails a test
rather than a user.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from saga_client.models import (
    Account,
    DeadLetter,
    MessagingHealth,
    Order,
    OrderRequest,
    Page,
    Payment,
    Saga,
    SagaCounts,
    SagaDefinition,
    Shipment,
)

SERVICES = ("orders", "payments", "shipping", "orchestrator")


@dataclass(frozen=True)
class Operation:
    service: str | None  # None: every service serves it, and the caller names which
    method: str
    path: str  # a template: {name} is a path parameter, named as in the schema
    operation_id: str
    response: Any  # the msgspec type the success body is read as; None: the body is not read
    request: Any = None  # the msgspec type of the JSON body sent, if the client has a model for it

    def url_path(self, **params: object) -> str:
        """The path with its parameters filled in, each escaped as one path segment."""
        return self.path.format(**{name: quote(str(value), safe="") for name, value in params.items()})

    @property
    def idempotent(self) -> bool:
        """Whether a failed attempt may simply be sent again (reads only)."""
        return self.method == "GET"


def _op(
    service: str | None, method: str, path: str, operation_id: str, response: Any, request: Any = None
) -> Operation:
    return Operation(service, method, path, operation_id, response, request)


OPERATIONS: dict[str, Operation] = {
    # orders
    "place_order": _op("orders", "POST", "/api/v1/orders", "orders_create", Order, OrderRequest),
    "get_order": _op("orders", "GET", "/api/v1/orders/{order_id}", "orders_retrieve", Order),
    "list_orders": _op("orders", "GET", "/api/v1/orders", "orders_list", Page[Order]),
    "cancel_order": _op("orders", "POST", "/api/v1/orders/{order_id}/cancel", "orders_cancel", Order),
    # payments
    "open_account": _op("payments", "POST", "/api/v1/accounts", "accounts_create", Account),
    "get_account": _op("payments", "GET", "/api/v1/accounts/{customer_id}", "accounts_retrieve", Account),
    "payments_of": _op("payments", "GET", "/api/v1/payments", "payments_list", Page[Payment]),
    # shipping
    "shipments_of": _op("shipping", "GET", "/api/v1/shipments", "shipments_list", Page[Shipment]),
    "dispatch_shipment": _op(
        "shipping", "POST", "/api/v1/shipments/{shipment_id}/dispatch", "shipments_dispatch", Shipment
    ),
    # orchestrator
    "list_sagas": _op("orchestrator", "GET", "/api/v1/sagas", "sagas_list", Page[Saga]),
    "saga_of": _op("orchestrator", "GET", "/api/v1/sagas", "sagas_list", Page[Saga]),
    "get_saga": _op("orchestrator", "GET", "/api/v1/sagas/{saga_id}", "sagas_retrieve", Saga),
    "saga_counts": _op("orchestrator", "GET", "/api/v1/sagas/counts", "sagas_counts", SagaCounts),
    "saga_definitions": _op(
        "orchestrator", "GET", "/api/v1/sagas/definitions", "sagas_definitions", list[SagaDefinition]
    ),
    "retry_saga": _op("orchestrator", "POST", "/api/v1/sagas/{saga_id}/retry", "sagas_retry", Saga),
    "compensate_saga": _op(
        "orchestrator", "POST", "/api/v1/sagas/{saga_id}/compensate", "sagas_compensate", Saga
    ),
    # every service
    "messaging_health": _op(
        None, "GET", "/api/v1/operations/messaging", "operations_messaging", MessagingHealth
    ),
    "list_dead_letters": _op(
        None, "GET", "/api/v1/operations/dead-letters", "dead_letters_list", Page[DeadLetter]
    ),
    "replay_dead_letter": _op(
        None,
        "POST",
        "/api/v1/operations/dead-letters/{dead_letter_id}/replay",
        "dead_letters_replay",
        DeadLetter,
    ),
    "discard_dead_letter": _op(
        None,
        "POST",
        "/api/v1/operations/dead-letters/{dead_letter_id}/discard",
        "dead_letters_discard",
        DeadLetter,
    ),
    "ready": _op(None, "GET", "/healthz/ready", "healthz_ready_retrieve", None),
}
