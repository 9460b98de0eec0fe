from django.urls import path

from orders.api import OrderCancelApi, OrderDetailApi, OrderListCreateApi
from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/orders", OrderListCreateApi.as_view(), name="orders"),
    path("api/v1/orders/<uuid:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("api/v1/orders/<uuid:order_id>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
]
