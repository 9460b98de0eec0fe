import os

from saga_common.web.wsgi import checked_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
application = checked_wsgi_application()
