from django.urls import path

from orchestrator.api import (
    SagaCompensateApi,
    SagaCountsApi,
    SagaDefinitionsApi,
    SagaDetailApi,
    SagaListApi,
    SagaRetryApi,
)
from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/sagas", SagaListApi.as_view(), name="sagas"),
    path("api/v1/sagas/counts", SagaCountsApi.as_view(), name="saga-counts"),
    path("api/v1/sagas/definitions", SagaDefinitionsApi.as_view(), name="saga-definitions"),
    path("api/v1/sagas/<uuid:saga_id>", SagaDetailApi.as_view(), name="saga-detail"),
    path("api/v1/sagas/<uuid:saga_id>/retry", SagaRetryApi.as_view(), name="saga-retry"),
    path("api/v1/sagas/<uuid:saga_id>/compensate", SagaCompensateApi.as_view(), name="saga-compensate"),
]
