"""A small client of the system's public REST API, as a user's code would drive it."""

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from devstack.local_keys import jwt_signing_key
from saga_common.web.tokens import CUSTOMER, OPERATOR, mint_token

TERMINAL = {"APPROVED", "REJECTED"}
SAGA_ENDED = {"COMPLETED", "COMPENSATED", "FAILED"}


class SystemClient:
    """Places orders as the customer they are for; everything else (accounts, reads, sagas) as an
    operator. Tokens are signed with the key devstack gives the services (``JWT_SIGNING_KEY``)."""

    def __init__(self, urls: dict[str, str], signing_key: str | None = None) -> None:
        self.urls = urls
        self.signing_key = signing_key or jwt_signing_key()
        self.http = requests.Session()
        self.http.headers["Authorization"] = self.bearer("ops", OPERATOR)
        # A server may close an idle keep-alive connection just as it is reused (gunicorn's keep-alive
        # is 2 s): reads are idempotent, so they are retried; POSTs are not.
        retries = Retry(total=3, connect=3, read=3, backoff_factor=0.1, allowed_methods=frozenset({"GET"}))
        self.http.mount("http://", HTTPAdapter(max_retries=retries))

    def bearer(self, subject: str, role: str = CUSTOMER) -> str:
        return f"Bearer {mint_token(self.signing_key, subject, [role], lifetime_seconds=24 * 3600)}"

    def open_account(self, customer_id: str, credit_limit: str, currency: str = "EUR") -> dict[str, Any]:
        response = self.http.post(
            f"{self.urls['payments']}/api/v1/accounts",
            json={"customer_id": customer_id, "currency": currency, "credit_limit": credit_limit},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def account(self, customer_id: str) -> dict[str, Any]:
        return self._get("payments", f"/api/v1/accounts/{customer_id}")

    def place_order(
        self,
        customer_id: str,
        *,
        country: str = "DE",
        unit_price: str = "12.50",
        quantity: int = 2,
        currency: str = "EUR",
        idempotency_key: str | None = None,
    ) -> requests.Response:
        body = {
            "customer_id": customer_id,
            "currency": currency,
            "items": [{"sku": "SKU-1", "quantity": quantity, "unit_price": unit_price}],
            "shipping_address": {
                "name": "Ada Lovelace",
                "line1": "1 Main St",
                "city": "Somewhere",
                "postal_code": "12345",
                "country": country,
            },
        }
        headers = {"Authorization": self.bearer(customer_id)}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.http.post(f"{self.urls['orders']}/api/v1/orders", json=body, headers=headers, timeout=10)

    def order(self, order_id: str) -> dict[str, Any]:
        return self._get("orders", f"/api/v1/orders/{order_id}")

    def wait_until_settled(self, order_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until the order is APPROVED or REJECTED and its saga has ended; return the order.

        The order is decided one message before the saga hears that it was, so both are awaited.
        """
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_id)
            if order["status"] in TERMINAL and self.saga_of(order_id)["state"] in SAGA_ENDED:
                return order
            if time.monotonic() > deadline:
                raise TimeoutError(f"order {order_id} still {order['status']} after {timeout}s")
            time.sleep(0.1)

    def payments(self, order_id: str) -> list[dict[str, Any]]:
        """The order's payment, if any, as a list (one per order: the first page holds it)."""
        page: dict[str, Any] = self._get("payments", "/api/v1/payments", order_id=order_id)
        results: list[dict[str, Any]] = page["results"]
        return results

    def shipments(self, order_id: str) -> list[dict[str, Any]]:
        page: dict[str, Any] = self._get("shipping", "/api/v1/shipments", order_id=order_id)
        results: list[dict[str, Any]] = page["results"]
        return results

    def saga_of(self, order_id: str) -> dict[str, Any]:
        (saga,) = self._get("orchestrator", "/api/v1/sagas", order_id=order_id)["results"]
        return saga

    def sagas(self, *, state: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest sagas in ``state`` (one page)."""
        page: dict[str, Any] = self._get("orchestrator", "/api/v1/sagas", state=state, limit=str(limit))
        results: list[dict[str, Any]] = page["results"]
        return results

    def saga_action(self, saga_id: str, action: str) -> tuple[int, dict[str, Any]]:
        """An operator's ``retry`` or ``compensate``; return the status and the JSON body (saga or reason)."""
        response = self.http.post(f"{self.urls['orchestrator']}/api/v1/sagas/{saga_id}/{action}", timeout=10)
        return response.status_code, response.json()

    def _get(self, service: str, path: str, **params: str) -> Any:
        response = self.http.get(f"{self.urls[service]}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()
