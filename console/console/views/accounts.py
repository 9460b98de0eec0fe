"""Operator page for accounts: open one, and look one up with its available credit."""

from decimal import Decimal, InvalidOperation

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from console.api import client_for, problems_of
from console.auth import operator_only, person_of
from console.display import error_text
from saga_client.errors import ApiError, NotFound


@require_http_methods(["GET", "POST"])
@operator_only
def accounts(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    assert person is not None
    client = client_for(person)
    problems = problems_of(request)
    outcome = refused = ""
    account = None
    if request.method == "POST":
        customer_id = request.POST.get("customer_id", "").strip()
        try:
            credit_limit = Decimal(request.POST.get("credit_limit", ""))
            account = problems.load(
                "payments",
                lambda: client.open_account(customer_id, credit_limit, request.POST.get("currency", "EUR")),
            )
            if account is not None:
                outcome = f"Opened the account of {account.customer_id}."
        except InvalidOperation:
            refused = "The credit limit is a number, such as 500.00."
        except ApiError as exc:
            refused = f"Not opened: {error_text(exc.detail)}"
    else:
        customer_id = request.GET.get("customer_id", "").strip()[:64]
        if customer_id:
            try:
                account = problems.load("payments", lambda: client.get_account(customer_id))
            except NotFound:
                refused = f"{customer_id} has no account."
            except ApiError as exc:
                refused = error_text(exc.detail)
    context = {
        "account": account,
        "customer_id": customer_id,
        "outcome": outcome,
        "refused": refused,
        "problems": problems.banners,
        "currencies": ("EUR", "USD", "GBP"),
    }
    return render(
        request,
        "console/ops/accounts.html",
        context,
        status=400 if refused and request.method == "POST" else 200,
    )
