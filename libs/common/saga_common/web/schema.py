"""OpenAPI: describe the bearer token, so clients (and schemathesis) know which endpoints need one."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BearerTokenScheme(SimpleJWTScheme):
    target_class = "saga_common.web.auth.BearerTokenAuthentication"
    name = "bearerAuth"


# Every error is JSON: {"detail": ...} or {field: [messages]} (docs/contract.md). Documented on every
# operation so clients and schemathesis know each status an endpoint can answer.
ERROR_RESPONSES = {
    "400": "The request is malformed or a field is invalid (field errors name the field).",
    "401": "No bearer token, or one that is forged, expired or otherwise invalid.",
    "403": "The token is valid but its role may not do this.",
    "404": "Not found (or another customer's).",
    "405": "The method is not allowed here.",
    "406": "Only JSON responses are available.",
    "409": "A business rule refused the request.",
    "413": "The request body is too large.",
    "415": "The request body is not JSON.",
    "422": "The Idempotency-Key was used with a different request.",
}
PUBLIC_ERRORS = ("405", "406")


def document_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the JSON error responses to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "description": '{"detail": "..."} or field errors {"field": ["..."]}',
        "additionalProperties": True,
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            public = operation.get("security") == [{}]
            for code, description in ERROR_RESPONSES.items():
                if public and code not in PUBLIC_ERRORS:
                    continue
                operation["responses"].setdefault(code, {"description": description, "content": error})
    return result
