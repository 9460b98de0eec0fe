"""Settings of the console: a web app with no database of its own. It reads and acts only through the
four services' REST APIs (saga_client), with the signed-in person's token.

Everything a deployment changes comes from the environment. Sign-in is one of two modes:
- development (``CONSOLE_DEV_SIGN_IN=1``, what ``make up`` sets): pick a customer id or the operator,
  and the console mints a token with the development key the services share;
- everywhere else: an identity-aware proxy in front (oauth2-proxy, say) authenticates the person and
  passes their access token in ``CONSOLE_TOKEN_HEADER``; the console never mints one.
"""

import environ
from csp.constants import NONE, SELF

from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY
from saga_common.observability.logs import logging_config

env = environ.Env()

SERVICE_NAME = "console"
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The public development key is refused outside development (check console.E001).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
USE_TZ = True
TIME_ZONE = "UTC"
APPEND_SLASH = False
DATABASES: dict[str, dict[str, str]] = {}  # none: the services own the data

INSTALLED_APPS = ["django.contrib.staticfiles", "console.apps.ConsoleConfig"]
MIDDLEWARE = [
    "console.metrics.RequestMetricsMiddleware",  # first: it counts every answer, error pages too
    "saga_common.web.middleware.UnstorableTextMiddleware",  # a NUL in the URL: 400, no API asked
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "console.auth.SignedInPersonMiddleware",
]
ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "console.auth.person_context",
            ],
        },
    }
]
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True  # served from the app's folder: no collectstatic step in the image

# The session (the person's token) lives in a signed cookie: no database, and any replica reads it.
# HttpOnly keeps the token from the page's JavaScript; SameSite=Lax keeps it off cross-site posts.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("CONSOLE_SECURE_COOKIES", default=False)
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never from the cookie
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "console.views.errors.csrf_failure"
# Behind a TLS-terminating Ingress or proxy: it says https in this header, and the form posts' Origin
# (https://...) then matches. Set only where such a proxy sets and overwrites the header.
if env.bool("CONSOLE_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CONSOLE_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Only the console's own files: no inline script or style, no eval, no CDN. htmx is vendored and told
# not to inject its indicator style (the meta tag in base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# The APIs the console is a client of.
CONSOLE_API_URLS = {
    "orders": env.str("ORDERS_API_URL", default="http://127.0.0.1:8001"),
    "payments": env.str("PAYMENTS_API_URL", default="http://127.0.0.1:8002"),
    "shipping": env.str("SHIPPING_API_URL", default="http://127.0.0.1:8003"),
    "orchestrator": env.str("ORCHESTRATOR_API_URL", default="http://127.0.0.1:8004"),
}
# A page waits this long for an API before it shows that service as not answering.
CONSOLE_API_TIMEOUT_SECONDS = env.float("CONSOLE_API_TIMEOUT_SECONDS", default=3.0)
CONSOLE_REFRESH_SECONDS = env.int("CONSOLE_REFRESH_SECONDS", default=2)
CONSOLE_DEV_SIGN_IN = env.bool("CONSOLE_DEV_SIGN_IN", default=False)
CONSOLE_TOKEN_HEADER = env.str("CONSOLE_TOKEN_HEADER", default="X-Forwarded-Access-Token")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=DEV_SIGNING_KEY)  # dev sign-in only
# A saga's page links its trace here when set, e.g. http://jaeger:16686/trace/{trace_id}.
TRACE_URL_TEMPLATE = env.str("TRACE_URL_TEMPLATE", default="")
# Jaeger's query API (e.g. http://jaeger:16686), for the console's own trace page /ops/traces/<id>:
# TRACE_URL_TEMPLATE=/ops/traces/{trace_id} links there where Jaeger has no web UI (make up TRACING=1).
TRACE_QUERY_URL = env.str("TRACE_QUERY_URL", default="")

# Its Prometheus endpoint (console.metrics), apart from the public port; 0: none. gunicorn starts it
# (saga_common.web.gunicorn_conf calls METRICS_SERVER with the port).
METRICS_PORT = env.int("METRICS_PORT", default=0)
METRICS_SERVER = "console.metrics.serve_metrics"
LOGGING = logging_config(env.str("LOG_FORMAT", default="json"), env.str("LOG_LEVEL", default="INFO"))
# Django logs an oversized or over-long form at ERROR with a traceback; it is the sender's mistake,
# answered 400 (views.errors.bad_request) and in the access log: not an error of ours.
LOGGING["loggers"].update(
    {
        name: {"level": "CRITICAL"}
        for name in ("django.security.RequestDataTooBig", "django.security.TooManyFieldsSent")
    }
)
