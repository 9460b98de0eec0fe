"""Operator page for accounts: open one, and look one up with its available credit."""

from decimal import Decimal, InvalidOperation

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from console.api import act, client_for, problems_of
from console.auth import operator_only, person_of
from saga_client.errors import NotFound


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
        except InvalidOperation:
            refused = "The credit limit is a number, such as 500.00."
        else:
            currency = request.POST.get("currency", "EUR")
            account, why = act(
                problems, "payments", lambda: client.open_account(customer_id, credit_limit, currency)
            )
            if account is not None:
                outcome = f"Opened the account of {account.customer_id}."
            else:
                refused = f"Not opened: {why}"
    else:
        customer_id = request.GET.get("customer_id", "").strip()[:64]
        if customer_id:
            try:
                account = problems.load("payments", lambda: client.get_account(customer_id))
            except NotFound:
                refused = f"{customer_id} has no account."
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
