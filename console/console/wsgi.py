"""The console's WSGI application: Django's, once the start-up checks pass, traced when configured.

gunicorn runs no system checks itself; raising here fails the worker's boot, so the console never serves
with the public development keys (console.checks). Tracing is set up here, once per gunicorn worker
process, before the handler reads the middleware Django's instrumentation adds to
(``saga_common.observability.tracing``; the console has no database).
"""

import os

import django
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler

from saga_common.observability import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup(set_prefix=False)

from console.checks import startup_errors  # noqa: E402  (needs Django set up)

if errors := startup_errors():
    raise ImproperlyConfigured("refusing to start:\n" + "\n".join(str(error) for error in errors))
tracing.configure("console-web", django=True, database=False)
application = WSGIHandler()
