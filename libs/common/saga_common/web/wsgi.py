"""The services' WSGI application: Django's, once the startup checks pass, traced when configured.

gunicorn runs no system checks itself; without this a web process would serve with, say, the
development keys. Raising here fails the gunicorn worker's boot, so gunicorn exits.

gunicorn imports the application in each worker process (after the fork), so this is also where a web
sets tracing up, once per process: before the handler is built, since Django's instrumentation adds its
middleware to the settings and the handler reads them once (``saga_common.observability.tracing``).
"""

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from saga_common.checks import refuse_to_start_if_misconfigured
from saga_common.observability import tracing


def checked_wsgi_application() -> WSGIHandler:
    django.setup(set_prefix=False)  # as get_wsgi_application(), so the checks can run
    refuse_to_start_if_misconfigured()
    tracing.configure(f"{settings.SERVICE_NAME}-web", django=True, database=bool(settings.DATABASES))
    return WSGIHandler()
