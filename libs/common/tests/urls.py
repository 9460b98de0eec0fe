"""The framework's own endpoints (what every service mounts), for its API tests."""

from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401

urlpatterns = [*common_urlpatterns]
