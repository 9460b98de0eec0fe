"""Structured logs: every line a JSON object, and every line about a message carrying its ids.

``bind(...)`` puts fields in a context variable for the code it wraps
(an HTTP request, a handled message); ``ContextFilter`` copies them onto every log record, so a line
logged deep inside a handler still says which correlation id, saga and order it concerns.
``LOG_FORMAT=plain`` gives one readable line instead (the local stack uses it).
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_context: ContextVar[Mapping[str, str]] = ContextVar("saga_log_context", default=MappingProxyType({}))


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            setattr(record, name, value)
        return True


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: JSON (default) or plain lines, with the context filter on the handler."""
    plain = "%(asctime)s %(levelname)s %(name)s %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "saga_common.observability.logs.ContextFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "static_fields": {},
            },
            "plain": {"format": plain},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain" if log_format == "plain" else "json",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }
