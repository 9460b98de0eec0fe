"""Plain words for what the APIs answer: error details and durations."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def error_text(detail: Any) -> str:
    """One readable sentence from a JSON error body (``{"detail": ...}`` or field errors)."""
    if isinstance(detail, Mapping):
        if isinstance(detail.get("detail"), str):
            return str(detail["detail"])
        parts = [f"{_field(name)}: {error_text(value)}" for name, value in detail.items()]
        return "; ".join(parts) or "refused"
    if isinstance(detail, list):
        return "; ".join(error_text(item) for item in detail)
    return str(detail)


def seconds(start: datetime | None, end: datetime | None) -> str:
    """``12 s``, ``3.4 s`` or ``45 ms`` between two instants; empty if either is missing."""
    if start is None or end is None:
        return ""
    elapsed = (end - start).total_seconds()
    if elapsed < 1:
        return f"{elapsed * 1000:.0f} ms"
    if elapsed < 10:
        return f"{elapsed:.1f} s"
    return f"{elapsed:.0f} s"


def _field(name: Any) -> str:
    """A field's name as a person reads it: list positions count from 1 ("item 1"), underscores go."""
    text = str(name)
    return f"item {int(text) + 1}" if text.isdigit() else text.replace("_", " ")
