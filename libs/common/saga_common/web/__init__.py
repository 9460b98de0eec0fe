"""What every service's REST API shares: bearer tokens and roles, JSON errors (domain errors mapped to
statuses in ``errors``), strict serializer fields, pagination, the body parser and size limit,
correlation ids, health probes, the OpenAPI schema and its docs, and the WSGI and gunicorn set-up."""
