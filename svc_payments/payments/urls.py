from django.urls import path

from payments.api import AccountCreateApi, AccountDetailApi, PaymentListApi
from saga_common.web.urls import common_urlpatterns, handler400, handler404, handler500  # noqa: F401

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/accounts", AccountCreateApi.as_view(), name="accounts"),
    path("api/v1/accounts/<str:customer_id>", AccountDetailApi.as_view(), name="account-detail"),
    path("api/v1/payments", PaymentListApi.as_view(), name="payments"),
]
