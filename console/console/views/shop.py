"""The storefront: a customer's account, placing an order, and their orders as they are decided."""

import functools
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from console.api import act, action_result, client_for, problems_of
from console.auth import Person, customer_only, person_of
from saga_client.errors import NotFound
from saga_client.models import OrderItem, OrderRequest, ShippingAddress

ITEM_ROWS = 3
CURRENCIES = ("EUR", "USD", "GBP")
SHOWN_ORDERS = 10
DECIDING = ("PENDING", "CANCELLING")  # a saga runs for them: the list refreshes until it ends


def _person(request: HttpRequest) -> Person:
    person = person_of(request)
    assert person is not None  # customer_only saw to it
    return person


@require_GET
@customer_only
def storefront(request: HttpRequest) -> HttpResponse:
    return _render_storefront(request, form={}, errors="")


def _render_storefront(request: HttpRequest, *, form: dict[str, Any], errors: str) -> HttpResponse:
    person = _person(request)
    orders = _orders_context(request, person)  # first: the account must be as new as the orders shown
    context = {
        **orders,
        **_account_context(request, person),
        "form": form,
        "errors": errors,
        "item_rows": _item_rows(form),
        "currencies": CURRENCIES,
        "placed": request.GET.get("placed", ""),
        "idempotency_key": form.get("idempotency_key") or str(uuid.uuid4()),
    }
    return render(request, "console/shop/shop.html", context, status=400 if errors else 200)


@require_GET
@customer_only
def orders_fragment(request: HttpRequest) -> HttpResponse:
    """The orders' live refresh, and with it the account card (swapped out of band): what an order's
    decision does to the available credit shows when the decision does, not at the next page load."""
    person = _person(request)
    orders = _orders_context(request, person)
    context = {**orders, **_account_context(request, person)}
    return render(request, "console/shop/orders_live.html", context)


def _account_context(request: HttpRequest, person: Person) -> dict[str, Any]:
    """The customer's account, read after their orders: a payment's effect on the available credit is
    made before the order it belongs to is decided, so an account read later never lags the orders.
    """
    client = client_for(person)
    try:
        account = problems_of(request).load("payments", lambda: client.get_account(person.subject))
    except NotFound:
        return {"account": None, "no_account": True}
    return {"account": account, "no_account": False}


def _orders_context(request: HttpRequest, person: Person) -> dict[str, Any]:
    """The customer's newest orders, each with its payment and shipment; live while any is PENDING."""
    client = client_for(person)
    problems = problems_of(request)
    page = problems.load("orders", lambda: client.list_orders(customer_id=person.subject, limit=SHOWN_ORDERS))
    rows = []
    for order in page.results if page else ():
        payments = problems.load("payments", functools.partial(client.payments_of, order.id)) or []
        shipments = problems.load("shipping", functools.partial(client.shipments_of, order.id)) or []
        rows.append(
            {
                "order": order,
                "payment": payments[0] if payments else None,
                "shipment": shipments[0] if shipments else None,
                # an APPROVED order whose cancellation was not refused before (that refusal is final)
                "cancellable": order.status == "APPROVED" and not order.cancellation_refused_reason,
                "cancel_key": str(uuid.uuid4()),
            }
        )
    pending = page is None or any(order.status in DECIDING for order in page.results)
    return {
        "orders": rows,
        "orders_loaded": page is not None,
        "orders_live": pending,
        "problems": problems.banners,
    }


@require_POST
@customer_only
def place_order(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    form = request.POST.dict()
    try:
        order = _order_from_form(request)
    except ValueError as exc:
        return _render_storefront(request, form=form, errors=str(exc))
    # The form's key: pressing Place order again after a timeout places the order once, not twice.
    key = form.get("idempotency_key") or str(uuid.uuid4())
    form["idempotency_key"] = key
    placed, why = act(
        problems_of(request), "orders", lambda: client_for(person).place_order(order, idempotency_key=key)
    )
    if placed is None:
        if "orders" not in problems_of(request).down:
            form.pop("idempotency_key")  # refused: nothing was placed, and a corrected form is a new order
        else:  # maybe placed, maybe not: pressing again with the same key tells
            why = "The orders service did not confirm the order. Press Place order again: with this form it is placed once, however often you press."  # noqa: E501
        return _render_storefront(request, form=form, errors=why)
    return HttpResponseRedirect(f"/shop?placed={placed.id}")


@require_POST
@customer_only
def cancel_order(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The Cancel button of an approved order: the order is CANCELLING, then CANCELLED or APPROVED again
    with the reason, as the list shows live. The form's key makes a second press the same request."""
    person = _person(request)
    reason = request.POST.get("reason", "").strip()
    key = request.POST.get("idempotency_key") or str(uuid.uuid4())
    cancelled, why = act(
        problems_of(request),
        "orders",
        lambda: client_for(person).cancel_order(order_id, reason=reason, idempotency_key=key),
    )
    outcome = "Cancellation asked: the order is CANCELLING." if cancelled is not None else ""
    refused = f"Not cancelled: {why}" if why else ""
    if request.headers.get("HX-Request"):
        return action_result(outcome, refused, "orders-changed")
    if refused:
        return _render_storefront(request, form={}, errors=refused)
    return HttpResponseRedirect("/shop")


def _order_from_form(request: HttpRequest) -> OrderRequest:
    post = request.POST
    items = []
    for row in range(ITEM_ROWS):
        sku = post.get(f"sku_{row}", "").strip()
        if not sku:
            continue
        try:
            quantity = int(post.get(f"quantity_{row}", ""))
            unit_price = Decimal(post.get(f"unit_price_{row}", ""))
        except (ValueError, InvalidOperation):
            raise ValueError(
                f"Item {row + 1}: the quantity is a whole number and the price a number."
            ) from None
        items.append(OrderItem(sku=sku, quantity=quantity, unit_price=unit_price))
    if not items:
        raise ValueError("Add at least one item.")
    address = ShippingAddress(
        name=post.get("name", "").strip(),
        line1=post.get("line1", "").strip(),
        line2=post.get("line2", "").strip(),
        city=post.get("city", "").strip(),
        postal_code=post.get("postal_code", "").strip(),
        country=post.get("country", "").strip().upper(),
    )
    return OrderRequest(currency=post.get("currency", "EUR"), items=tuple(items), shipping_address=address)


def _item_rows(form: dict[str, Any]) -> list[dict[str, str]]:
    defaults = [{"sku": "BOOK-1", "quantity": "1", "unit_price": "12.50"}]
    rows = []
    for row in range(ITEM_ROWS):
        default = defaults[row] if row < len(defaults) and not form else {}
        rows.append(
            {
                "index": str(row),
                "sku": form.get(f"sku_{row}", default.get("sku", "")),
                "quantity": form.get(f"quantity_{row}", default.get("quantity", "")),
                "unit_price": form.get(f"unit_price_{row}", default.get("unit_price", "")),
            }
        )
    return rows
