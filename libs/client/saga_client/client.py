"""ShopClient: the four services' REST APIs as typed method calls.

One ``httpx.Client`` per service base URL keeps its connections alive between calls and is safe to
share between threads. Reads (GET) are sent again on a connection error, a timeout or a 502/503/504, a
few times with a short backoff; the writes that carry an Idempotency-Key (``place_order``,
``cancel_order``) are sent again with the same key when their connection was refused or reset or the
answer was a 502/503; other writes (POST) never are. A caller that still does not know whether its
order arrived (a timeout) places it again with the same key and gets the same order.
"""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import httpx

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
from saga_client.operations import OPERATIONS, SERVICES
from saga_client.sending import IDEMPOTENCY_KEY, Request, call, connection_pools


class ShopClient:
    """The shop's REST APIs. ``urls`` maps service names (orders, payments, shipping, orchestrator) to
    base URLs (``http://127.0.0.1:8001``); only the services a caller uses need one.

    ``token`` is sent as ``Authorization: Bearer <token>``; ``with_token`` makes a copy acting for
    someone else over the same connections. ``retries`` is how often a failed read, or a write with an
    Idempotency-Key whose connection failed, is sent again (``sending.send`` says which failures).
    ``transport`` replaces httpx's (tests, or an ASGI/WSGI app).
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        token: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.urls = {service: url.rstrip("/") for service, url in urls.items()}
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self._http = connection_pools(self.urls, timeout, transport)
        self._clients = list({id(client): client for client in self._http.values()}.values())
        self._owner = True

    def with_token(self, token: str | None) -> "ShopClient":
        """A copy that sends ``token`` and shares this client's connections and settings. Closing the
        copy leaves the connections open: they belong to the client that made them."""
        copy = object.__new__(ShopClient)
        copy.__dict__.update(self.__dict__)
        copy.token, copy._owner = token, False
        return copy

    def close(self) -> None:
        """Close the connections (a copy made by ``with_token`` closes nothing)."""
        if self._owner:
            for client in self._clients:
                client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- orders -------------------------------------------------------------------------------

    def place_order(self, order: OrderRequest, *, idempotency_key: str | None = None) -> Order:
        """Place an order (``201``, status PENDING); the same key and body again return the same order.

        The Idempotency-Key is always sent (a fresh uuid4 unless given): to retry after a
        ``ServiceUnavailable`` or a 5xx, pass the key of the first attempt.
        """
        key = idempotency_key or str(uuid.uuid4())
        result: Order = self._call("place_order", body=order, headers={IDEMPOTENCY_KEY: key})
        return result

    def cancel_order(
        self, order_id: str | UUID, *, reason: str = "", idempotency_key: str | None = None
    ) -> Order:
        """Ask to cancel an APPROVED order (its customer, or an operator): the order comes back
        CANCELLING; its CancelOrder saga then makes it CANCELLED (refunded, shipment cancelled), or
        APPROVED again with ``cancellation_refused_reason`` (its shipment was dispatched). ``Conflict``
        for any other order. The Idempotency-Key is always sent, as for ``place_order``."""
        key = idempotency_key or str(uuid.uuid4())
        result: Order = self._call(
            "cancel_order",
            path={"order_id": order_id},
            body={"reason": reason},
            headers={IDEMPOTENCY_KEY: key},
        )
        return result

    def get_order(self, order_id: str | UUID) -> Order:
        result: Order = self._call("get_order", path={"order_id": order_id})
        return result

    def list_orders(
        self,
        *,
        customer_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Order]:
        query = {"customer_id": customer_id, "status": status, "limit": limit, "offset": offset}
        result: Page[Order] = self._call("list_orders", query=query)
        return result

    # --- payments -----------------------------------------------------------------------------

    def open_account(self, customer_id: str, credit_limit: Decimal | str, currency: str = "EUR") -> Account:
        """Grant a customer credit (operators only)."""
        body = {"customer_id": customer_id, "currency": currency, "credit_limit": str(Decimal(credit_limit))}
        result: Account = self._call("open_account", body=body)
        return result

    def get_account(self, customer_id: str) -> Account:
        result: Account = self._call("get_account", path={"customer_id": customer_id})
        return result

    def payments_of(self, order_id: str | UUID) -> list[Payment]:
        """The order's payments (at most one today)."""
        page: Page[Payment] = self._call("payments_of", query={"order_id": order_id, "limit": 100})
        return list(page.results)

    # --- shipping -----------------------------------------------------------------------------

    def shipments_of(self, order_id: str | UUID) -> list[Shipment]:
        """The order's shipments (at most one today)."""
        page: Page[Shipment] = self._call("shipments_of", query={"order_id": order_id, "limit": 100})
        return list(page.results)

    def dispatch_shipment(self, shipment_id: str | UUID) -> Shipment:
        """Send a SCHEDULED shipment on its way (operators only); ``Conflict`` for a cancelled one, or
        one held until its order's money is captured. A dispatched order can no longer be cancelled."""
        result: Shipment = self._call("dispatch_shipment", path={"shipment_id": shipment_id})
        return result

    # --- orchestrator (operators only) --------------------------------------------------------

    def list_sagas(
        self,
        *,
        state: str | None = None,
        type: str | None = None,
        order_id: str | UUID | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Saga]:
        """Sagas, newest first, optionally in one state, of one type (``place_order``), of one order."""
        query = {"state": state, "type": type, "order_id": order_id, "limit": limit, "offset": offset}
        result: Page[Saga] = self._call("list_sagas", query=query)
        return result

    def saga_of(self, order_id: str | UUID, *, type: str | None = None) -> Saga | None:
        """The order's saga (of ``type``, else its newest), or None before it has started."""
        query = {"order_id": order_id, "type": type, "limit": 1}
        page: Page[Saga] = self._call("saga_of", query=query)
        return page.results[0] if page.results else None

    def get_saga(self, saga_id: str | UUID) -> Saga:
        result: Saga = self._call("get_saga", path={"saga_id": saga_id})
        return result

    def saga_counts(self, *, type: str | None = None) -> SagaCounts:
        """How many sagas are in each state (every state, zeros included)."""
        result: SagaCounts = self._call("saga_counts", query={"type": type})
        return result

    def saga_definitions(self) -> list[SagaDefinition]:
        """Every saga definition version the orchestrator runs: steps, parallel groups, pivot,
        compensations, its unfinished sagas, and a Mermaid diagram."""
        result: list[SagaDefinition] = self._call("saga_definitions")
        return result

    def retry_saga(self, saga_id: str | UUID) -> Saga:
        """Send a FAILED saga's stopped step again; ``Conflict`` if it cannot be."""
        result: Saga = self._call("retry_saga", path={"saga_id": saga_id})
        return result

    def compensate_saga(self, saga_id: str | UUID) -> Saga:
        """Abandon a saga before its pivot; ``Conflict`` once the pivot was sent."""
        result: Saga = self._call("compensate_saga", path={"saga_id": saga_id})
        return result

    # --- every service: messaging (operators only) and readiness ------------------------------

    def messaging_health(self, service: str) -> MessagingHealth:
        """The service's outbox backlog, consumer lag and pending dead letters."""
        result: MessagingHealth = self._call("messaging_health", service=service)
        return result

    def list_dead_letters(
        self, service: str, *, status: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Page[DeadLetter]:
        """The service's dead letters (PENDING, REPLAYED or DISCARDED), newest first."""
        query = {"status": status, "limit": limit, "offset": offset}
        result: Page[DeadLetter] = self._call("list_dead_letters", service=service, query=query)
        return result

    def replay_dead_letter(self, service: str, id: str | UUID) -> DeadLetter:
        """Put a PENDING dead letter's message back on its topic, once; ``Conflict`` otherwise."""
        result: DeadLetter = self._call("replay_dead_letter", service=service, path={"dead_letter_id": id})
        return result

    def discard_dead_letter(self, service: str, id: str | UUID) -> DeadLetter:
        """Mark a PENDING dead letter as not to be handled; ``Conflict`` otherwise."""
        result: DeadLetter = self._call("discard_dead_letter", service=service, path={"dead_letter_id": id})
        return result

    def ready(self, service: str) -> bool:
        """Whether the service is ready (``GET /healthz/ready`` answers 200), asked once; False on
        any error."""
        operation = OPERATIONS["ready"]
        http = self._client_for(service)
        try:
            return http.get(operation.url_path()).status_code == 200
        except Exception:
            return False

    # --- sending ------------------------------------------------------------------------------

    def _client_for(self, service: str) -> httpx.Client:
        try:
            return self._http[service]
        except KeyError:
            known = ", ".join(sorted(self._http)) or "none"
            raise ValueError(f"no URL for service {service!r} (given: {known}; of {SERVICES})") from None

    def _call(
        self,
        name: str,
        *,
        service: str | None = None,
        path: Mapping[str, object] | None = None,
        query: Mapping[str, object | None] | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send operation ``name`` (``operations.OPERATIONS``) and read its answer as its model."""
        operation = OPERATIONS[name]
        target = operation.service or service
        if target is None:
            raise ValueError(f"{name} needs the service to ask")
        request = Request(operation, target, path or {}, query or {}, body, headers or {})
        return call(self._client_for(target), request, token=self.token, retries=self.retries)
