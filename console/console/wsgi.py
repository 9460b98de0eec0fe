"""The console's WSGI application: Django's, once the start-up checks pass.

gunicorn runs no system checks itself; raising here fails the worker's boot, so the console never serves
with the public development keys (console.checks).
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
application = get_wsgi_application()

from console.checks import startup_errors  # noqa: E402  (needs Django set up)

if errors := startup_errors():
    raise ImproperlyConfigured("refusing to start:\n" + "\n".join(str(error) for error in errors))
