from django.urls import path

from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401
from shipping.api import ShipmentDispatchApi, ShipmentListApi

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/shipments", ShipmentListApi.as_view(), name="shipments"),
    path(
        "api/v1/shipments/<uuid:shipment_id>/dispatch",
        ShipmentDispatchApi.as_view(),
        name="shipment-dispatch",
    ),
]
