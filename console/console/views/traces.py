"""One trace, drawn from Jaeger's query API (``TRACE_QUERY_URL``): where a saga's trace link goes when
the Jaeger at hand has no web UI of its own (``make up TRACING=1``; console.traces says why)."""

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console import traces
from console.auth import operator_only

REFRESHES = 15


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 4 else 0


@require_GET
@operator_only
def trace_detail(request: HttpRequest, trace_id: str) -> HttpResponse:
    query_url = settings.TRACE_QUERY_URL.rstrip("/")
    context: dict[str, object] = {"trace_id": trace_id, "raw_url": "", "rows": [], "problem": ""}
    if not query_url:
        context["problem"] = "No trace store is configured here (TRACE_QUERY_URL is empty)."
        return render(request, "console/ops/trace.html", context, status=404)
    raw_url = f"{query_url}/api/traces/{trace_id}"
    context["raw_url"] = raw_url
    try:
        response = httpx.get(raw_url, timeout=settings.CONSOLE_API_TIMEOUT_SECONDS)
    except httpx.HTTPError as failure:
        context["problem"] = f"Jaeger at {query_url} does not answer ({type(failure).__name__})."
        return render(request, "console/ops/trace.html", context, status=502)
    if response.status_code == 404:
        # spans are exported in batches: a trace a second old may not be there yet. The page looks
        # again every 2 s, up to REFRESHES times (a trace Jaeger lost, or never sampled, never comes).
        waited = _int(request.GET.get("waited"))
        context["problem"] = "Jaeger has no span of this trace (yet): spans arrive within seconds."
        context["refresh"] = f"?waited={waited + 1}" if waited < REFRESHES else ""
        return render(request, "console/ops/trace.html", context, status=404)
    try:
        payload = response.json() if response.is_success else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        context["problem"] = f"Jaeger at {query_url} answered {response.status_code}, not a trace."
        return render(request, "console/ops/trace.html", context, status=502)
    found = [trace for trace in payload.get("data") or [] if isinstance(trace, dict)]
    table = traces.rows(found[0]) if found else []
    context |= {"rows": table, "services": traces.services(table)}
    return render(request, "console/ops/trace.html", context)
