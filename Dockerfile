# Every service's image, and every app's (the console), from this one file. Build from the repository
# root; make images builds them all with the names services.json gives:
#   docker build --build-arg SERVICE=svc_orders --build-arg PACKAGE=svc-orders --build-arg MODULE=orders \
#     -t localhost/saga-orders:dev .
#   docker build --build-arg SERVICE=console --build-arg PACKAGE=console --build-arg MODULE=console \
#     -t localhost/saga-console:dev .
# The final image holds a virtual environment with that service, the libraries it depends on
# (saga-common, shop-contracts; the console's: saga-client, saga-common) and their locked dependencies,
# and its manage.py: no other service, no tests, no dev-only code. Gunicorn by default, serving
# "$MODULE.wsgi"; a service's worker runs the same image with "python manage.py run_worker", its
# migrations with "python manage.py migrate". Nothing here migrates: the console, which has no database,
# runs only the default command.
ARG BASE_IMAGE=python:3.11-slim

# --- build: resolve the workspace and install one member into /app/.venv ---------------------------
FROM ${BASE_IMAGE} AS build
ARG SERVICE
ARG PACKAGE
ARG UV_VERSION=0.13.8
# --no-editable installs the workspace members as packages, so the runtime needs no source tree. Tilt
# builds the "dev" target with an editable install instead, so synced source files take effect.
ARG UV_INSTALL_FLAGS=--no-editable
ENV PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN test -n "$SERVICE" && test -n "$PACKAGE" \
    && python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
# The context is what .dockerignore lets through: every member's pyproject.toml (uv reads the whole
# workspace) and the sources of the libraries and services, without tests, docs or local state. The uv
# cache outlives the build, so a code change reinstalls from it instead of downloading again.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev ${UV_INSTALL_FLAGS} --package "${PACKAGE}"

# --- dev: what Tilt runs (the source tree and an editable install, so synced files take effect) ---
FROM build AS dev
ARG SERVICE
ARG MODULE
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SERVICE_MODULE=${MODULE} \
    WEB_CONCURRENCY=1
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app && chown -R 10001 /app
USER 10001
WORKDIR /app/${SERVICE}
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn \"$SERVICE_MODULE.wsgi\" --config python:saga_common.web.gunicorn_conf --bind 0.0.0.0:8000 --threads 8 --graceful-timeout 25 --worker-tmp-dir /tmp --no-control-socket --access-logfile -"]

# --- runtime (the default): the virtual environment and manage.py, nothing else ------------------
FROM ${BASE_IMAGE} AS runtime
ARG SERVICE
ARG MODULE
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONFAULTHANDLER=1 \
    PATH=/app/.venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=${MODULE}.settings \
    SERVICE_MODULE=${MODULE} \
    WEB_CONCURRENCY=1
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/${SERVICE}/manage.py /app/${SERVICE}/manage.py
USER 10001
WORKDIR /app/${SERVICE}
EXPOSE 8000
STOPSIGNAL SIGTERM
# One gunicorn process per container (threads for concurrency; scale with replicas): its Prometheus
# counters then describe the whole container, served on METRICS_PORT if set, apart from the API
# (saga_common.web.gunicorn_conf). WEB_CONCURRENCY raises it where wanted, without metrics.
CMD ["sh", "-c", "exec gunicorn \"$SERVICE_MODULE.wsgi\" --config python:saga_common.web.gunicorn_conf --bind 0.0.0.0:8000 --threads 8 --graceful-timeout 25 --worker-tmp-dir /tmp --no-control-socket --access-logfile -"]
