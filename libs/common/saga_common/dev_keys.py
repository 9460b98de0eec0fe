"""The development keys: public (they are in this file), the settings' defaults on a developer machine.

Outside debug mode the web and the worker refuse to start with either (system checks
``saga_common.E002`` and ``E003``, in ``saga_common.checks``): any real deployment sets its own.
"""

DEV_SIGNING_KEY = "dev-only-jwt-signing-key-change-me-in-any-deployment"  # JWT_SIGNING_KEY's default
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-any-deployment"  # DJANGO_SECRET_KEY's default
