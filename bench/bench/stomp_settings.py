"""Settings for running django-outbox-pattern's own ``publish`` command in the relay benchmark.

A service's settings (so the same ``published`` table and database), plus the library's STOMP
connection to the local RabbitMQ. Its defaults are kept otherwise: that is the publisher as shipped.
"""

import os

from payments.settings import *  # noqa: F403

DJANGO_OUTBOX_PATTERN = {
    "DEFAULT_STOMP_HOST_AND_PORTS": [("127.0.0.1", int(os.environ.get("STOMP_PORT", "61613")))],
    "DEFAULT_STOMP_USERNAME": os.environ.get("STOMP_USERNAME", "guest"),
    "DEFAULT_STOMP_PASSCODE": os.environ.get("STOMP_PASSCODE", "guest"),
}
