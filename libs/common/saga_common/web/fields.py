"""Serializer fields whose OpenAPI schema says exactly what they accept.

Clients (and schemathesis) generate requests from the schema, so a value the schema allows must
never be refused: money fields carry a pattern that excludes what ``min_value`` would reject.
"""

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictTypeMixin:
    """Accept only the JSON type the schema promises (DRF would turn 5 into "5" and "5" into 5)."""

    accepted_types: tuple[type, ...] = (str,)
    type_error = "must be a string"

    def __deepcopy__(self, memo: Mapping[Any, Any]) -> Any:
        """Copy without running ``__init__`` again.

        DRF deep-copies every declared field for each serializer it creates (each request), and its
        ``Field.__deepcopy__`` re-runs ``__init__``, which rebuilds the validators: that was the
        largest part of validating an order. A declared field is never bound or changed, so a
        shallow copy with a list of validators of its own is as good.
        """
        clone = copy.copy(self)
        if "_validators" in self.__dict__:
            clone.__dict__["_validators"] = list(self.__dict__["_validators"])
        return clone

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, self.accepted_types) or isinstance(data, bool):
            raise serializers.ValidationError(self.type_error)
        return super().to_internal_value(data)  # type: ignore[misc]


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^(?:[1-9][0-9]{0,5}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$",
        "example": "12.50",
        "description": "a positive amount, at most 999999.99, with at most 2 decimals",
    }
)
class PriceField(StrictTypeMixin, serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=8, decimal_places=2, min_value=Decimal("0.01"), **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$",
        "example": "100.00",
        "description": "zero or more, at most 999999999999.99, with at most 2 decimals",
    }
)
class CreditLimitField(StrictTypeMixin, serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=14, decimal_places=2, min_value=Decimal("0.00"), **kwargs)


class TextField(StrictTypeMixin, serializers.CharField):
    """A non-blank, bounded string (NUL bytes are refused by DRF's CharField)."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        # A blank-allowing field gets no minLength: drf-spectacular would wrap a minLength of 0 in a
        # oneOf with {"maxLength": 0}, under which "" matches both branches and breaks the schema.
        if not kwargs.get("allow_blank"):
            kwargs.setdefault("min_length", 1)
        super().__init__(max_length=max_length, **kwargs)


class PatternField(StrictTypeMixin, serializers.RegexField):
    """A string matching ``regex`` (and nothing but a string)."""


class CountField(StrictTypeMixin, serializers.IntegerField):
    accepted_types = (int,)
    type_error = "must be an integer"


class QueryFilters(serializers.Serializer):
    """A list's filters (its query parameters, ``request.query_params``): each is checked for what it
    names, and a malformed one is a 400 naming it (docs/contract.md). A filter given with an empty value
    is an error, not "not given" (DRF's form handling would silently ignore ``?status=``), and so is one
    given twice (only the last would count)."""

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, list[str]] = {}
        for name in list(self.fields.keys()):
            given = data.getlist(name)
            if len(given) > 1:
                errors[name] = ["may be given only once"]
            elif given == [""]:
                errors[name] = ["may not be blank"]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class OrderIdFilter(serializers.UUIDField):
    """An order id: what the orders service calls its orders' ``id``, a UUID (docs/contract.md).

    Checked only for its length, ``?order_id=not-a-uuid`` matched nothing and answered an empty page,
    which reads as "no payment for that order" rather than as the caller's mistake. Handed on as the
    canonical text the services store (``str(uuid)``), so every spelling of the UUID finds its rows.
    """

    def to_internal_value(self, data: Any) -> Any:  # the text, not the UUID DRF's field gives
        return str(super().to_internal_value(data))


def paginated(serializer: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a LimitOffsetPagination page of ``serializer`` items."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer(many=True),
        },
    )
