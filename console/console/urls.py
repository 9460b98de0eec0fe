from django.urls import path, re_path

from console.traces import TRACE_ID_PATTERN
from console.views import accounts, messaging, orders, sagas, session, shop, traces

urlpatterns = [
    path("", session.home, name="home"),
    path("signin", session.sign_in, name="signin"),
    path("signout", session.sign_out, name="signout"),
    path("healthz/live", session.live, name="healthz-live"),
    path("healthz/ready", session.ready, name="healthz-ready"),
    # The storefront (customers)
    path("shop", shop.storefront, name="shop"),
    path("shop/orders", shop.place_order, name="shop-place-order"),
    path("shop/orders/live", shop.orders_fragment, name="shop-orders-live"),
    path("shop/orders/<uuid:order_id>/cancel", shop.cancel_order, name="shop-cancel-order"),
    # The operator console
    path("ops/sagas", sagas.saga_list, name="sagas"),
    path("ops/sagas/table", sagas.saga_table, name="sagas-table"),
    path("ops/sagas/<uuid:saga_id>", sagas.saga_detail, name="saga"),
    path("ops/sagas/<uuid:saga_id>/live", sagas.saga_live, name="saga-live"),
    path("ops/sagas/<uuid:saga_id>/retry", sagas.saga_action, {"action": "retry"}, name="saga-retry"),
    path(
        "ops/sagas/<uuid:saga_id>/compensate",
        sagas.saga_action,
        {"action": "compensate"},
        name="saga-compensate",
    ),
    path("ops/orders/<uuid:order_id>", orders.order_detail, name="order"),
    path("ops/orders/<uuid:order_id>/live", orders.order_live, name="order-live"),
    path("ops/orders/<uuid:order_id>/dispatch", orders.dispatch, name="order-dispatch"),
    path("ops/orders/<uuid:order_id>/cancel", orders.cancel, name="order-cancel"),
    path("ops/messaging", messaging.health, name="messaging"),
    path("ops/messaging/live", messaging.health_live, name="messaging-live"),
    path("ops/dead-letters", messaging.dead_letters, name="dead-letters"),
    path("ops/dead-letters/live", messaging.dead_letters_live, name="dead-letters-live"),
    path(
        "ops/dead-letters/<str:service>/<uuid:letter_id>/replay",
        messaging.dead_letter_action,
        {"action": "replay"},
        name="dead-letter-replay",
    ),
    path(
        "ops/dead-letters/<str:service>/<uuid:letter_id>/discard",
        messaging.dead_letter_action,
        {"action": "discard"},
        name="dead-letter-discard",
    ),
    path("ops/accounts", accounts.accounts, name="accounts"),
    re_path(rf"^ops/traces/(?P<trace_id>{TRACE_ID_PATTERN})$", traces.trace_detail, name="trace"),
]

handler400 = "console.views.errors.bad_request"
handler403 = "console.views.errors.forbidden"
handler404 = "console.views.errors.not_found"
handler500 = "console.views.errors.server_error"
