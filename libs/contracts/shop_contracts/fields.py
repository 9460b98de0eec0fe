"""The field types of the shop's messages: the REST API's bounds, so a message put on a topic by hand
can do no more than a request could (``saga_common.messaging.rules``)."""

import dataclasses
import re
from decimal import Decimal
from typing import Annotated, Any

from msgspec import Meta

from saga_common.messaging.rules import MONEY_SCHEMA, Bounded, Money, PayloadError, Rule

# Money above zero, as JSON Schema can say it of a string (MONEY_SCHEMA allows zero).
POSITIVE_MONEY_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,11}(\.[0-9]{1,2})?)$"


@dataclasses.dataclass(frozen=True)
class ShipsToCountry(Rule):
    """An address the saga can ship to: it names its ``country`` (ISO 3166-1 alpha-2)."""

    def check(self, value: Any, where: str) -> None:
        country = value.get("country") if isinstance(value, dict) else None
        if not isinstance(country, str) or re.fullmatch(r"[A-Z]{2}", country) is None:
            raise PayloadError(f"{where}: must name its country, two capital letters")


Identifier = Annotated[str, Meta(min_length=1, max_length=64)]
Amount = Annotated[
    Decimal,
    Money(),
    Meta(extra_json_schema={**MONEY_SCHEMA, "pattern": POSITIVE_MONEY_PATTERN, "description": "above 0"}),
]
CurrencyCode = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217")]
CountryCode = Annotated[str, Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Address = Annotated[
    dict[str, Any],
    Bounded(max_items=10),
    ShipsToCountry(),
    Meta(
        extra_json_schema={
            "maxProperties": 10,
            "required": ["country"],
            "properties": {"country": {"type": "string", "pattern": "^[A-Z]{2}$"}},
        }
    ),
]

# Tombstone terms (VoidPayment, CancelShipment, ScheduleShipment.customer_id): empty, or zero, only in
# commands sent before these fields existed, which then record no terms.
OptionalIdentifier = Annotated[str, Meta(max_length=64)]
OptionalAmount = Annotated[
    Decimal, Money(allow_minimum=True), Meta(extra_json_schema={**MONEY_SCHEMA, "description": "0 or more"})
]
OptionalCurrencyCode = Annotated[str, Meta(pattern="^([A-Z]{3})?$")]
OptionalCountryCode = Annotated[str, Meta(pattern="^([A-Z]{2})?$")]
