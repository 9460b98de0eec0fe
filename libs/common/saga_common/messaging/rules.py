"""The rules a message field is held to, wherever the message is built or parsed.

Contract fields are ``Annotated`` types. A ``msgspec.Meta`` on a ``str`` field (length, pattern) is
both what the message's generated JSON Schema says and a rule; ``Money`` and ``Bounded`` are rules
msgspec's constraints cannot say (money is a ``Decimal`` with at most two places, above zero and below
10**12; a bounded list or object holds only short scalars, shallowly nested). ``check_rules`` applies
every rule of a message; ``Message.__post_init__`` calls it, and msgspec runs that both when it decodes
a message and when code constructs one, so a command put on a topic by hand is held to the same rules
as one the orchestrator sent. Text is also refused with NUL bytes or lone surrogates (JSON lets them
in; PostgreSQL and UTF-8 do not).

Patterns are written anchored (``^...$``), as JSON Schema reads them, and must match the whole value
here: Python's ``$`` also matches before a final newline, which msgspec's own check lets through.

Every field of a contract must be of a shape these rules understand (a ``str``, a ``Decimal`` with
``Money``, a ``dict`` or ``list`` with ``Bounded``); any other shape is refused when its rules are
first read, so no field goes unchecked by mistake.
"""

import dataclasses
import functools
import math
import re
import typing
from decimal import Decimal
from typing import Any

import msgspec


class PayloadError(ValueError):
    """A payload breaks its contract's rules (msgspec reports it as a ValidationError when decoding)."""


class Rule:
    """A constraint on one field's value; ``check`` raises PayloadError naming the field."""

    def check(self, value: Any, where: str) -> None:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    """A string of bounded length, matching ``pattern`` as a whole if given, without NUL bytes."""

    max_length: int | None
    min_length: int = 1
    pattern: str | None = None

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise PayloadError(f"{where}: expected a string")
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            raise PayloadError(f"{where}: length must be {self.min_length} to {self.max_length}")
        if "\x00" in value or not _encodable(value):
            raise PayloadError(f"{where}: NUL bytes and lone surrogates are not allowed")
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            raise PayloadError(f"{where}: must match {self.pattern}")


@dataclasses.dataclass(frozen=True)
class Money(Rule):
    """An exact amount: finite, at most two decimal places, above ``minimum``, below 10**max_integer_digits.

    The same bounds as the REST API's money fields and the ``DecimalField(max_digits=14,
    decimal_places=2)`` columns that store it, so nothing is rounded or overflows later.
    """

    minimum: Decimal = Decimal("0.00")
    allow_minimum: bool = False
    max_integer_digits: int = 12

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise PayloadError(f"{where}: must be a finite decimal amount")
        if value.as_tuple().exponent < -2:  # type: ignore[operator]  # finite: an int exponent
            raise PayloadError(f"{where}: at most two decimal places, got {value}")
        if value < self.minimum or (value == self.minimum and not self.allow_minimum):
            relation = "at least" if self.allow_minimum else "more than"
            raise PayloadError(f"{where}: must be {relation} {self.minimum}, got {value}")
        if abs(value) >= Decimal(10) ** self.max_integer_digits:
            raise PayloadError(f"{where}: must be below {Decimal(10) ** self.max_integer_digits}")


@dataclasses.dataclass(frozen=True)
class Bounded(Rule):
    """A list or object of at most ``max_items`` entries whose scalars are short strings or numbers."""

    max_items: int
    max_text: int = 200

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, list | dict) or len(value) > self.max_items:
            raise PayloadError(f"{where}: at most {self.max_items} entries")
        self._check_nested(value, where, depth=0)

    def _check_nested(self, value: Any, where: str, depth: int) -> None:
        if depth > 3:
            raise PayloadError(f"{where}: nested too deeply")
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in entries:
            if isinstance(key, str) and (len(key) > self.max_text or "\x00" in key or not _encodable(key)):
                raise PayloadError(f"{where}: a key longer than {self.max_text}, or with NUL")
            if isinstance(item, list | dict):
                if len(item) > self.max_items:
                    raise PayloadError(f"{where}.{key}: at most {self.max_items} entries")
                self._check_nested(item, f"{where}.{key}", depth + 1)
            elif isinstance(item, str):
                if len(item) > self.max_text or "\x00" in item or not _encodable(item):
                    raise PayloadError(f"{where}.{key}: text longer than {self.max_text}, or with NUL")
            elif isinstance(item, float) and not math.isfinite(item):
                raise PayloadError(f"{where}.{key}: NaN and infinities are not numbers JSON allows")
            elif item is not None and not isinstance(item, int | float | bool):
                raise PayloadError(f"{where}.{key}: unsupported value")


# What the generated JSON Schema says of a money field.
MONEY_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"}


def _encodable(value: str) -> bool:
    """False for lone surrogates (JSON lets them in; PostgreSQL and UTF-8 do not)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class UncheckedField(TypeError):
    """A contract field of a shape the rules do not understand (its values would go unchecked)."""


@functools.cache
def _rules(cls: type) -> tuple[tuple[str, tuple[Rule, ...]], ...]:
    """The rules of each field of a Struct, from its ``Annotated`` hints; every field must have one."""
    hints = typing.get_type_hints(cls, include_extras=True)
    found: list[tuple[str, tuple[Rule, ...]]] = []
    for name in cls.__struct_fields__:  # type: ignore[attr-defined]  # a msgspec Struct
        base, *metadata = (
            typing.get_args(hints[name]) if hasattr(hints[name], "__metadata__") else (hints[name],)
        )
        rules = [rule for rule in (_as_rule(m, base) for m in metadata) if rule is not None]
        if base is bool:  # two values, both fine; msgspec refuses anything else
            found.append((name, ()))
            continue
        if base is str and not rules:
            rules.append(Text(max_length=None, min_length=0))  # still no NUL bytes, no lone surrogates
        needed = {str: Text, Decimal: Money}.get(base) or (
            Bounded if typing.get_origin(base) in (dict, list) else None
        )
        if needed is None or not any(isinstance(rule, needed) for rule in rules):
            raise UncheckedField(f"{cls.__name__}.{name}: {hints[name]} has no rule that checks it")
        found.append((name, tuple(rules)))
    return tuple(found)


def _as_rule(metadata: Any, base: Any) -> Rule | None:
    """A Rule as it is, and a ``msgspec.Meta`` on a ``str`` as the equivalent ``Text``."""
    if isinstance(metadata, Rule):
        return metadata
    if isinstance(metadata, msgspec.Meta) and base is str:
        return Text(metadata.max_length, metadata.min_length or 0, metadata.pattern)
    return None


def check_rules(instance: msgspec.Struct) -> None:
    """Apply the rules of ``instance``'s fields; raise PayloadError naming the first one broken."""
    cls = type(instance)
    for name, rules in _rules(cls):
        for rule in rules:
            rule.check(getattr(instance, name), f"{cls.__name__}.{name}")
