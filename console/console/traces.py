"""A trace as the console draws it: Jaeger's spans (its query API's JSON) as the rows of a waterfall.

Jaeger's own web UI is a separate JavaScript build that our machines cannot get (docs/operations.md,
Tracing), so the console shows what an operator looks at first: each span with its service, operation,
when it started after the trace's first span, how long it took, whether it failed, indented under its
parent. Pure functions over the JSON, so they are tested without Jaeger.
"""

from dataclasses import dataclass
from typing import Any

# Jaeger's trace ids: 32 lowercase hex digits (16-digit ones are old Zipkin ids, which we never make).
TRACE_ID_PATTERN = r"[0-9a-f]{32}"


@dataclass(frozen=True)
class SpanRow:
    span_id: str
    depth: int
    service: str
    operation: str
    kind: str
    offset_ms: float
    duration_ms: float
    failed: bool
    left_percent: float  # where its bar starts, of the trace's length
    width_percent: float

    @property
    def depth_class(self) -> int:
        """Its indentation step for the page's CSS (depth-0 .. depth-8: deeper ones stay at 8)."""
        return min(self.depth, 8)


def _tag(span: dict[str, Any], key: str) -> Any:
    return next((tag.get("value") for tag in span.get("tags") or [] if tag.get("key") == key), None)


def _parent(span: dict[str, Any]) -> str | None:
    return next(
        (ref.get("spanID") for ref in span.get("references") or [] if ref.get("refType") == "CHILD_OF"), None
    )


def rows(trace: dict[str, Any]) -> list[SpanRow]:
    """The spans of one trace (an item of Jaeger's ``/api/traces/<id>`` ``data``), parents before their
    children, siblings by start; a span whose parent is not (yet) in the trace is a root."""
    spans = {span["spanID"]: span for span in trace.get("spans") or []}
    if not spans:
        return []
    processes = trace.get("processes") or {}
    start = min(span["startTime"] for span in spans.values())
    end = max(span["startTime"] + span.get("duration", 0) for span in spans.values())
    length = max(end - start, 1)
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans.values():
        parent = _parent(span)
        children.setdefault(parent if parent in spans else None, []).append(span)
    ordered: list[SpanRow] = []
    seen: set[str] = set()

    def row(span: dict[str, Any], depth: int) -> SpanRow:
        offset = span["startTime"] - start
        duration = span.get("duration", 0)
        return SpanRow(
            span_id=span["spanID"],
            depth=depth,
            service=str((processes.get(span.get("processID")) or {}).get("serviceName", "?")),
            operation=str(span.get("operationName", "")),
            kind=str(_tag(span, "span.kind") or "internal"),
            offset_ms=offset / 1000,
            duration_ms=duration / 1000,
            failed=_tag(span, "error") in (True, "true") or _tag(span, "otel.status_code") == "ERROR",
            left_percent=100 * offset / length,
            width_percent=max(100 * duration / length, 0.3),  # a short span stays visible
        )

    def by_start(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(group, key=lambda s: (s["startTime"], s["spanID"]))

    # depth first without recursion (a trace may be deeper than Python's stack): a stack of
    # (span, depth), the earliest sibling on top
    pending = [(span, 0) for span in reversed(by_start(children.get(None, [])))]
    while True:
        while pending:
            span, depth = pending.pop()
            seen.add(span["spanID"])
            ordered.append(row(span, depth))
            pending += [(child, depth + 1) for child in reversed(by_start(children.get(span["spanID"], [])))]
        # spans whose parents point at each other (no root reaches them) still show, at the top level
        unreached = [span for span_id, span in spans.items() if span_id not in seen]
        if not unreached:
            return ordered
        first = by_start(unreached)[0]
        children.setdefault(_parent(first), []).remove(first)
        pending = [(first, 0)]


def services(table: list[SpanRow]) -> list[str]:
    """The services with spans in the trace, in the order they first appear."""
    return list(dict.fromkeys(row.service for row in table))
