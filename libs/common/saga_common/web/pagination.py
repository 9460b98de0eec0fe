"""The one pagination of every list (REST_FRAMEWORK's DEFAULT_PAGINATION_CLASS): ``?limit=&offset=``.

DRF's LimitOffsetPagination ignores a malformed value and takes any integer, so ``?limit=`` beyond a
64-bit integer reached PostgreSQL and failed there (a 500). Here both are checked against the range
the schema documents, and anything outside it is a 400 naming the parameter: a ``limit`` above
``MAX_LIMIT`` is refused rather than quietly cut, so a client never mistakes a short page for the end.
"""

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

MAX_LIMIT = 100
DEFAULT_LIMIT = 50  # REST_FRAMEWORK's PAGE_SIZE
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint
_DIGITS = re.compile(r"[0-9]{1,19}")  # int() would also take " 5", "+5", "1_000" and other scripts' digits

# The query parameters of every list, for @extend_schema (views that are not generic lists get no
# pagination parameters from drf-spectacular).
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        OpenApiParameter.QUERY,
        description=f"Results per page (at most {MAX_LIMIT}; more is a 400).",
        default=DEFAULT_LIMIT,
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        OpenApiParameter.QUERY,
        description="How many results to skip.",
        default=0,
    ),
]


class Pagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        return _bounded(request, self.limit_query_param, DEFAULT_LIMIT, 1, MAX_LIMIT)

    def get_offset(self, request: Request) -> int:
        return _bounded(request, self.offset_query_param, 0, 0, MAX_OFFSET)


def _bounded(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise serializers.ValidationError({name: [f"must be a whole number from {minimum} to {maximum}"]})
    return int(raw)


def paginated_response(
    queryset: QuerySet[Any], request: Request, view: APIView, serializer: type[serializers.Serializer]
) -> Response:
    """One page of ``queryset`` (count, next, previous, results), each item through ``serializer``."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)
