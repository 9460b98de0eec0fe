"""Structured logs: every line a JSON object, and every line about a message carrying its ids.

``bind(...)`` puts fields in a context variable for the code it wraps
(an HTTP request, a handled message); ``ContextFilter`` copies them onto every log record, so a line
logged deep inside a handler still says which correlation id, saga and order it concerns, and, inside
a span, its ``trace_id`` and ``span_id`` (``saga_common.observability.tracing``).
``LOG_FORMAT=plain`` gives one readable line instead (the local stack uses it).

gunicorn's own lines go through the same formatter (``gunicorn_logging_config``, its
``logconfig_dict``): its error log, and an access log whose lines carry the request's method, path,
status, duration and correlation id (``AccessLogFilter``).
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from saga_common.observability.tracing import current_ids

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
        ids = current_ids()
        if ids is not None:
            record.trace_id, record.span_id = ids
        return True


class AccessLogFilter(logging.Filter):
    """gunicorn's access line as fields: its arguments are the request's atoms (``glogging.access``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, Mapping):
            return True
        record.method, record.path, record.status = atoms["m"], atoms["U"], _number(atoms["s"])
        if atoms["q"] not in ("", "-", None):
            record.query = atoms["q"]
        microseconds = _number(atoms["D"])
        if isinstance(microseconds, int):
            record.duration_ms = round(microseconds / 1000, 3)
        correlation_id = atoms["{x-correlation-id}o"]  # the response's header (SafeAtoms: "-" if none)
        if correlation_id != "-":
            record.correlation_id = correlation_id
        traceresponse = str(atoms["{traceresponse}o"]).split("-")  # set when the request was traced
        if len(traceresponse) == 4:
            record.trace_id, record.span_id = traceresponse[1], traceresponse[2]
        return True


def _number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


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


def gunicorn_logging_config(log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error log and its access log (on stdout, one line per request)
    in the services' format, instead of gunicorn's plain text."""
    config = logging_config(log_format, level)
    config["filters"]["access"] = {"()": "saga_common.observability.logs.AccessLogFilter"}
    config["handlers"]["access"] = {
        **config["handlers"]["console"],
        "stream": "ext://sys.stdout",
        "filters": ["access", "context"],
    }
    config["loggers"] |= {
        "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    }
    return config
