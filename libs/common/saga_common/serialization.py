"""Turn flat dataclasses into JSON-ready dicts and back, with exact decimals.

Message payloads and saga data are small dataclasses whose fields are str, int, bool,
Decimal, dict or list (or optional ones). Decimals travel as strings so money stays exact.
"""

import dataclasses
import functools
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
