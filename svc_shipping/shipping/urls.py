from django.urls import path

from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401
from shipping.api import ShipmentListApi

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/shipments", ShipmentListApi.as_view(), name="shipments"),
]
