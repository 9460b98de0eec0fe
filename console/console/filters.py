"""The operator pages' filters, checked as the APIs check theirs (docs/contract.md): a malformed one is
refused with a 400 naming it (``MalformedRequest``, shown by ``views.errors.bad_request``), and no API
is asked. Dropped, it showed every saga as if those were the filtered ones; passed on, the API's 400
showed as the service not answering.

A filter given empty is "any": the pages' forms send ``?state=`` for their "any" choice.
"""

from collections.abc import Sequence
from uuid import UUID

from django.http import HttpRequest

from saga_common.web.middleware import MalformedRequest


def one_of(request: HttpRequest, name: str, choices: Sequence[str], default: str = "") -> str:
    """The filter ``name``, one of ``choices``; ``default`` when not given."""
    value = _given(request, name)
    if value and value not in choices:
        raise MalformedRequest(f"{name}: must be one of {', '.join(choices)}")
    return value or default


def order_id(request: HttpRequest, name: str = "order_id") -> str:
    """The filter ``name``, an order id (a UUID), as the API stores it; "" when not given."""
    value = _given(request, name).strip()  # pasted ids come with spaces
    if not value:
        return ""
    try:
        return str(UUID(value))
    except ValueError:
        raise MalformedRequest(f"{name}: must be an order id (a UUID)") from None


def _given(request: HttpRequest, name: str) -> str:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise MalformedRequest(f"{name}: must be given only once")
    return values[0] if values else ""
