"""Error pages: plain words, never a stack trace."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from saga_common.web.middleware import MalformedRequest


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "console/error.html",
        {"title": "This form expired", "message": "Reload the page and try again."},
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request, "console/error.html", {"title": "Not found", "message": "There is no such page."}, status=404
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/error.html",
        {"title": "Something went wrong", "message": "It was logged. Try again in a moment."},
        status=500,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields, a bad Host), and
    ours (``MalformedRequest``: a NUL in the URL, a malformed filter), which say why."""
    ours = isinstance(exception, MalformedRequest)
    return render(
        request,
        "console/error.html",
        {
            "title": "That request was refused",
            "message": str(exception) if ours else "It was too large or malformed.",
        },
        status=400,
    )


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request, "console/error.html", {"title": "Not for you", "message": "You may not do that."}, status=403
    )
