"""The services' WSGI application: Django's, once the startup checks pass.

gunicorn runs no system checks itself; without this a web process would serve with, say, the
development keys. Raising here fails the gunicorn worker's boot, so gunicorn exits.
"""

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

from saga_common.checks import refuse_to_start_if_misconfigured


def checked_wsgi_application() -> WSGIHandler:
    application = get_wsgi_application()  # sets Django up, so the checks can run
    refuse_to_start_if_misconfigured()
    return application
