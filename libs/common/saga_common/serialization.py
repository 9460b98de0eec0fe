"""Turn flat dataclasses into JSON-ready dicts and back, with exact decimals, and check their rules.

Message payloads and saga data are small dataclasses whose fields are str, int, bool,
Decimal, dict or list (or optional ones). Decimals travel as strings so money stays exact.

A field may carry rules as ``Annotated`` metadata (``Annotated[Decimal, Money()]``); ``check_rules``
applies them, and contracts call it when they are built, so a rule holds wherever a message is made
or parsed: a command put on a topic by hand is held to the same rules as one the orchestrator sent.
"""

import dataclasses
import functools
import math
import re
import types
import typing
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")


class PayloadError(ValueError):
    """A payload does not match the dataclass it should fill."""


def to_dict(instance: Any) -> dict[str, Any]:
    """Return the dataclass as a dict of JSON values (Decimal -> str)."""
    return {field.name: json_value(getattr(instance, field.name)) for field in dataclasses.fields(instance)}


def from_dict(cls: type[T], data: Any) -> T:
    """Build ``cls`` from a dict, checking field names and converting types; raise PayloadError."""
    if not isinstance(data, dict):
        raise PayloadError(f"{cls.__name__}: payload must be an object")
    hints, fields = _shape(cls)  # type: ignore[arg-type]  # a class is hashable
    unknown = set(data) - set(fields)
    if unknown:
        raise PayloadError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    values = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise PayloadError(f"{cls.__name__}: missing field {name!r}")
            continue
        values[name] = _load(hints[name], data[name], f"{cls.__name__}.{name}")
    return cls(**values)


@functools.cache
def _shape(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """The field types and fields of a dataclass: resolving the hints is costly, and they never change."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


class Rule:
    """A constraint on one field's value; ``check`` raises PayloadError naming the field."""

    def check(self, value: Any, where: str) -> None:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    """A string of bounded length, optionally matching ``pattern`` (as a whole), without NUL bytes."""

    max_length: int
    min_length: int = 1
    pattern: str | None = None

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise PayloadError(f"{where}: expected a string")
        if not self.min_length <= len(value) <= self.max_length:
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
            if isinstance(key, str) and len(key) > self.max_text:
                raise PayloadError(f"{where}: key longer than {self.max_text}")
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


def _encodable(text: str) -> bool:
    """False for lone surrogates (JSON lets them in; PostgreSQL and UTF-8 do not)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def _rules(cls: type) -> tuple[tuple[str, tuple[Rule, ...]], ...]:
    """The rules of each field of a dataclass that has any, from its ``Annotated`` hints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for name in (f.name for f in dataclasses.fields(cls)):
        rules = tuple(m for m in getattr(hints[name], "__metadata__", ()) if isinstance(m, Rule))
        if rules:
            found.append((name, rules))
    return tuple(found)


def check_rules(instance: Any) -> None:
    """Apply the ``Annotated`` rules of the dataclass ``instance``'s fields; raise PayloadError."""
    cls = type(instance)
    for name, rules in _rules(cls):  # type: ignore[arg-type]  # a class is hashable
        for rule in rules:
            rule.check(getattr(instance, name), f"{cls.__name__}.{name}")


def json_value(value: Any) -> Any:
    """Return a JSON-ready copy of ``value`` (Decimals as their exact string)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


_SCALARS: dict[type, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    bool: (bool,),
    dict: (dict,),
    list: (list,),
}


def _load(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _load(inner, value, where)
    if hint is Decimal:
        if not isinstance(value, str):
            raise PayloadError(f"{where}: decimal must be a string")
        try:
            return Decimal(value)
        except ArithmeticError as exc:
            raise PayloadError(f"{where}: not a decimal: {value!r}") from exc
    base = origin or hint
    if base is typing.Any:
        return value
    accepted = _SCALARS.get(base)
    if accepted is None:
        raise PayloadError(f"{where}: unsupported field type {hint!r}")
    if not isinstance(value, accepted) or (base is int and isinstance(value, bool)):
        raise PayloadError(f"{where}: expected {base.__name__}, got {type(value).__name__}")
    return value
