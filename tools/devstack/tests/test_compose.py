"""compose.yaml runs what services.json lists, as the images and the cluster run it; and its variables
are read as Compose reads them (the end-to-end suite on containers starts from this file)."""

from typing import Any

import pytest
import yaml
from django.http.request import validate_host

from devstack.images import PROJECT_IMAGES
from devstack.services import APPS, REPO_ROOT, SERVICES
from e2e.compose import ComposeError, interpolate, load_compose

KEYS = {
    "JWT_SIGNING_KEY": "k1",
    "DJANGO_SECRET_KEY": "k2",
    **{f"KAFKA_PASSWORD_{user.upper()}": f"pw-{user}" for user in ("admin", *(s.name for s in SERVICES))},
}
INFRASTRUCTURE = {"postgres", "broker", "topics"}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    return document["services"]


def test_every_service_of_the_list_has_its_migrations_web_and_worker_and_nothing_else_runs(
    raw: dict[str, Any],
) -> None:
    expected = {f"{s.name}-{role}" for s in SERVICES for role in ("migrate", "web", "worker")}
    expected |= {f"{a.name}-web" for a in APPS}  # an app is one web process: no migrations, no worker
    assert set(raw) == expected | INFRASTRUCTURE


def test_each_container_gets_its_services_image_database_and_port() -> None:
    compose = load_compose(KEYS)
    images = {image.name for image in PROJECT_IMAGES}
    for service in SERVICES:
        for role in ("migrate", "web", "worker"):
            spec = compose[f"{service.name}-{role}"]
            assert spec.image == f"localhost/saga-{service.name}:dev"
            assert spec.image.split("/")[1].split(":")[0] in images  # one make images builds
            assert spec.environment["DATABASE_URL"].endswith(f"@postgres:5432/{service.name}")
            assert spec.environment["JWT_SIGNING_KEY"] == "k1"  # the caller's keys, never a default
            # its own user on the broker, and no other's password
            assert spec.environment["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
            assert spec.environment["KAFKA_SASL_USERNAME"] == service.name
            assert spec.environment["KAFKA_SASL_PASSWORD"] == f"pw-{service.name}"
            own = f"pw-{service.name}"
            others = {v for k, v in KEYS.items() if k.startswith("KAFKA_PASSWORD_") and v != own}
            assert not others & set(spec.environment.values())
        assert compose[f"{service.name}-worker"].command == ["python", "manage.py", "run_worker"]
        assert (
            compose[f"{service.name}-worker"].environment["KAFKA_GROUP_INSTANCE_ID"]
            == f"{service.name}-worker"
        )
        assert "migrate --noinput" in " ".join(compose[f"{service.name}-migrate"].command)


def test_ports_are_those_of_make_up_and_dependencies_name_real_services(raw: dict[str, Any]) -> None:
    for name, port in [(s.name, s.port) for s in SERVICES] + [(a.name, a.port) for a in APPS]:
        assert raw[f"{name}-web"]["ports"] == [f"127.0.0.1:{port}:8000"]
    for name, spec in raw.items():
        assert set(spec.get("depends_on", {})) <= set(raw), name


def test_each_app_runs_its_image_against_the_services_webs(raw: dict[str, Any]) -> None:
    """The console: its image's default command (gunicorn), the four APIs by their compose names, which
    accept that Host, started after them; dev sign-in with the caller's keys unless turned off."""
    compose = load_compose(KEYS)
    for app in APPS:
        spec = compose[f"{app.name}-web"]
        images = {image.name for image in PROJECT_IMAGES}
        assert spec.image == f"localhost/saga-{app.name}:dev"
        assert spec.image.split("/")[1].split(":")[0] in images
        assert spec.command == []  # no migrations, no worker: what the image runs
        env = spec.environment
        assert not {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "METRICS_PORT"} & set(env)
        assert (env["JWT_SIGNING_KEY"], env["DJANGO_SECRET_KEY"]) == ("k1", "k2")  # the caller's keys
        assert env["CONSOLE_DEV_SIGN_IN"] == "1"
        assert validate_host("localhost", env["DJANGO_ALLOWED_HOSTS"].split(","))
        for service in SERVICES:
            url = env[f"{service.name.upper()}_API_URL"]
            host = f"{service.name}-web"
            assert url == f"http://{host}:8000"
            assert host in raw  # a compose service's name is its host name on the network
            assert validate_host(host, compose[host].environment["DJANGO_ALLOWED_HOSTS"].split(","))
        assert set(raw[f"{app.name}-web"]["depends_on"]) == {f"{s.name}-web" for s in SERVICES}
    off = load_compose({**KEYS, "CONSOLE_DEV_SIGN_IN": "0"})
    assert all(off[f"{a.name}-web"].environment["CONSOLE_DEV_SIGN_IN"] == "0" for a in APPS)


def test_the_registry_and_tag_are_settings() -> None:
    compose = load_compose({**KEYS, "IMAGE_REGISTRY": "registry.example.com/saga", "IMAGE_TAG": "0.2.0"})
    assert compose["orders-web"].image == "registry.example.com/saga/saga-orders:0.2.0"


def test_without_this_checkouts_keys_compose_refuses_to_start() -> None:
    with pytest.raises(ComposeError, match="JWT_SIGNING_KEY must be set"):
        load_compose({k: v for k, v in KEYS.items() if k != "JWT_SIGNING_KEY"})


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A}", {}, ""),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("x${A:-d}y", {"A": "v"}, "xvy"),
        ("$${A}", {"A": "v"}, "${A}"),
        ("${A:?need A}", {"A": "v"}, "v"),
    ],
)
def test_variables_are_read_as_compose_reads_them(
    text: str, variables: dict[str, str], expected: str
) -> None:
    assert interpolate(text, variables) == expected


def test_a_required_variable_that_is_empty_is_an_error() -> None:
    with pytest.raises(ComposeError, match="need A"):
        interpolate("${A:?need A}", {"A": ""})


def test_the_topics_job_grants_as_admin_and_the_broker_takes_the_admins_password() -> None:
    compose = load_compose(KEYS)
    topics = compose["topics"]
    assert "grant_broker_access" in " ".join(topics.command)
    assert topics.environment["KAFKA_SASL_USERNAME"] == "admin"
    assert topics.environment["KAFKA_SASL_PASSWORD"] == "pw-admin"
    assert all(topics.environment[f"KAFKA_PASSWORD_{s.name.upper()}"] == f"pw-{s.name}" for s in SERVICES)
    assert compose["broker"].environment["KAFKA_PASSWORD_ADMIN"] == "pw-admin"


def test_without_the_broker_passwords_compose_refuses_to_start() -> None:
    with pytest.raises(ComposeError, match="KAFKA_PASSWORD"):
        load_compose({"JWT_SIGNING_KEY": "k1", "DJANGO_SECRET_KEY": "k2"})
