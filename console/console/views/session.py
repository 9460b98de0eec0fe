"""Sign-in and out, the landing page, and the health probes."""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.auth import SESSION_TOKEN, person_of
from saga_common.web.tokens import CUSTOMER, OPERATOR, mint_token

SUBJECT = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # what the services accept as a customer id
OPERATOR_SUBJECT = "operator"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    if person is None:
        return HttpResponseRedirect("/signin")
    return HttpResponseRedirect("/ops/sagas" if person.is_operator else "/shop")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if not settings.CONSOLE_DEV_SIGN_IN:
        # Outside development the proxy in front signs people in; nothing is minted here.
        return render(request, "console/signin_proxy.html", {"header": settings.CONSOLE_TOKEN_HEADER})
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    error = ""
    if request.method == "POST":
        as_operator = request.POST.get("role") == OPERATOR
        subject = OPERATOR_SUBJECT if as_operator else request.POST.get("customer_id", "").strip()
        if SUBJECT.match(subject):
            request.session.cycle_key()
            request.session[SESSION_TOKEN] = mint_token(
                settings.JWT_SIGNING_KEY,
                subject,
                [OPERATOR if as_operator else CUSTOMER],
                lifetime_seconds=settings.SESSION_COOKIE_AGE,
            )
            return HttpResponseRedirect(next_url or ("/ops/sagas" if as_operator else "/shop"))
        error = "A customer id is 1 to 64 letters, digits, dots, dashes, underscores or colons."
    return render(
        request,
        "console/signin.html",
        {"next": next_url, "error": error, "customer_id": request.POST.get("customer_id", "")},
        status=400 if error else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponseRedirect("/signin")


@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Ready once it serves: a down API is a banner on the page, never a reason to leave the rotation."""
    return JsonResponse({"status": "ok"})
