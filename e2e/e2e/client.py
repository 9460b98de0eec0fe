"""The system as a user's code drives it: the typed client (saga_client), with tokens minted locally."""

import threading
import time
from decimal import Decimal
from uuid import UUID

from devstack.local_keys import jwt_signing_key
from saga_client import OrderItem, OrderRequest, ShippingAddress, ShopClient
from saga_client.models import Account, Order, Payment, Saga, Shipment
from saga_common.web.tokens import CUSTOMER, OPERATOR, mint_token

TERMINAL = {"APPROVED", "REJECTED"}
SAGA_ENDED = {"COMPLETED", "COMPENSATED", "FAILED"}
TOKEN_LIFETIME_SECONDS = 24 * 3600


class SystemClient:
    """Places orders as the customer they are for; everything else (accounts, reads, sagas) as an
    operator. Tokens are signed with the key devstack gives the services (``JWT_SIGNING_KEY``).

    ``shop`` is the operator's ShopClient; ``as_customer`` one acting for a customer over the same
    connections. Safe to share between threads.
    """

    def __init__(self, urls: dict[str, str], signing_key: str | None = None) -> None:
        self.urls = urls
        self.signing_key = signing_key or jwt_signing_key()
        self.shop = ShopClient(urls, token=self.token("ops", OPERATOR))
        self._customers: dict[str, ShopClient] = {}
        self._lock = threading.Lock()

    def token(self, subject: str, role: str = CUSTOMER) -> str:
        return mint_token(self.signing_key, subject, [role], lifetime_seconds=TOKEN_LIFETIME_SECONDS)

    def as_customer(self, customer_id: str) -> ShopClient:
        with self._lock:
            customer = self._customers.get(customer_id)
            if customer is None:
                customer = self._customers[customer_id] = self.shop.with_token(self.token(customer_id))
        return customer

    def close(self) -> None:
        self.shop.close()

    def open_account(self, customer_id: str, credit_limit: str, currency: str = "EUR") -> Account:
        return self.shop.open_account(customer_id, credit_limit, currency)

    def account(self, customer_id: str) -> Account:
        return self.shop.get_account(customer_id)

    def place_order(
        self,
        customer_id: str,
        *,
        country: str = "DE",
        unit_price: str = "12.50",
        quantity: int = 2,
        currency: str = "EUR",
        idempotency_key: str | None = None,
    ) -> Order:
        """Place an order as its customer (``saga_client`` errors if refused or unreachable)."""
        order = OrderRequest(
            customer_id=customer_id,
            currency=currency,
            items=(OrderItem(sku="SKU-1", quantity=quantity, unit_price=Decimal(unit_price)),),
            shipping_address=ShippingAddress(
                name="Ada Lovelace", line1="1 Main St", city="Somewhere", postal_code="12345", country=country
            ),
        )
        return self.as_customer(customer_id).place_order(order, idempotency_key=idempotency_key)

    def order(self, order_id: str | UUID) -> Order:
        return self.shop.get_order(order_id)

    def wait_until_settled(self, order_id: str | UUID, timeout: float = 60.0) -> Order:
        """Poll until the order is APPROVED or REJECTED and its saga has ended; return the order.

        The order is decided one message before the saga hears that it was, so both are awaited.
        """
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_id)
            if order.status in TERMINAL and self.saga_of(order_id).state in SAGA_ENDED:
                return order
            if time.monotonic() > deadline:
                raise TimeoutError(f"order {order_id} still {order.status} after {timeout}s")
            time.sleep(0.1)

    def payments(self, order_id: str | UUID) -> list[Payment]:
        """The order's payment, if any, as a list (one per order)."""
        return self.shop.payments_of(order_id)

    def shipments(self, order_id: str | UUID) -> list[Shipment]:
        return self.shop.shipments_of(order_id)

    def saga_of(self, order_id: str | UUID, saga_type: str = "place_order") -> Saga:
        """The order's saga of ``saga_type``; LookupError if it has none (yet)."""
        saga = self.shop.saga_of(order_id, type=saga_type)
        if saga is None:
            raise LookupError(f"order {order_id} has no saga")
        return saga

    def cancel(self, order: Order, *, reason: str = "", idempotency_key: str | None = None) -> Order:
        """Ask to cancel ``order`` as its customer (``saga_client`` errors if refused or unreachable)."""
        return self.as_customer(order.customer_id).cancel_order(
            order.id, reason=reason, idempotency_key=idempotency_key
        )

    def dispatch(self, order_id: str | UUID) -> Shipment:
        """Dispatch the order's shipment, as the warehouse (an operator); LookupError without one."""
        shipments = self.shipments(order_id)
        if not shipments:
            raise LookupError(f"order {order_id} has no shipment")
        return self.shop.dispatch_shipment(shipments[0].id)

    def sagas(self, *, state: str, limit: int = 100) -> list[Saga]:
        """The newest sagas in ``state`` (one page)."""
        return list(self.shop.list_sagas(state=state, limit=limit).results)

    def saga_action(self, saga_id: str | UUID, action: str) -> Saga:
        """An operator's ``retry`` or ``compensate``; the saga, or an ``ApiError`` (409: refused)."""
        if action == "retry":
            return self.shop.retry_saga(saga_id)
        if action == "compensate":
            return self.shop.compensate_saga(saga_id)
        raise ValueError(f"no operator action {action!r}")
