"""URL patterns every service mounts: health checks, the OpenAPI schema and its docs (Swagger UI), and
the operators' messaging endpoints (``saga_common.web.operations``: health, dead letters).

Metrics are not among them: they are served on a port of their own (``METRICS_PORT``, see
``saga_common.web.gunicorn_conf``), which the public never reaches.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from saga_common.web.health import LiveView, ReadyView
from saga_common.web.operations import (
    DeadLetterDiscardApi,
    DeadLetterListApi,
    DeadLetterReplayApi,
    MessagingHealthApi,
)

common_urlpatterns = [
    path("healthz/live", LiveView.as_view(), name="healthz-live"),
    path("healthz/ready", ReadyView.as_view(), name="healthz-ready"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
    # The split view serves its script from the same URL (?script) rather than inline in the page.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[AllowAny]
        ),
        name="api-docs",
    ),
    path("api/v1/operations/messaging", MessagingHealthApi.as_view(), name="operations-messaging"),
    path("api/v1/operations/dead-letters", DeadLetterListApi.as_view(), name="dead-letters"),
    path(
        "api/v1/operations/dead-letters/<uuid:dead_letter_id>/replay",
        DeadLetterReplayApi.as_view(),
        name="dead-letter-replay",
    ),
    path(
        "api/v1/operations/dead-letters/<uuid:dead_letter_id>/discard",
        DeadLetterDiscardApi.as_view(),
        name="dead-letter-discard",
    ),
]

# Root URLconfs re-export these so even Django's own errors are JSON, never an HTML page.
handler400 = "saga_common.web.errors.json_bad_request"
handler404 = "saga_common.web.errors.json_not_found"
handler500 = "saga_common.web.errors.json_server_error"
