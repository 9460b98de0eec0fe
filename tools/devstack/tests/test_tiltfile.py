"""Evaluate the Tiltfile in starlark (starlark-pyo3) with recording stand-ins for Tilt's built-ins, in
both modes, and check what it asks Tilt to do: an image with live update and a resource for every
service and app (the console), port-forwards 8001-8004 and 8000, and dependencies that name real
resources and workloads."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import starlark
import yaml

from devstack.local_keys import BROKER_PASSWORDS, LOCAL_ENV_FILE, NAMES
from devstack.services import APPS, REPO_ROOT, SERVICES
from saga_common.dev_keys import DEV_SECRET_KEY, DEV_SIGNING_KEY

PORTS = {s.name: s.port for s in SERVICES}
# The libraries synced into each image besides its own folder (where the dev target installed them).
SERVICE_LIBRARIES = ["libs/common", "libs/contracts"]
APP_LIBRARIES = ["libs/common", "libs/client"]  # the typed client; saga_common's tokens, logs, gunicorn


@dataclass
class TiltRecorder:
    """Tilt's built-ins as recording functions (only the ones the Tiltfile uses)."""

    local: bool
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = field(default_factory=dict)
    yaml_objects: list[dict[str, Any]] = field(default_factory=list)

    def record(self, name: str) -> Any:
        def builtin(*args: Any, **kwargs: Any) -> Any:
            self.calls.setdefault(name, []).append((args, kwargs))
            return {"builtin": name, "args": list(args), **kwargs}

        return builtin

    def kustomize(self, path: str) -> str:
        self.calls.setdefault("kustomize", []).append(((path,), {}))
        kubectl = shutil.which("kubectl")
        assert kubectl is not None
        command = [kubectl, "kustomize", str(REPO_ROOT / path)]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def k8s_yaml(self, blob: str) -> None:
        self.yaml_objects += [doc for doc in yaml.safe_load_all(blob) if doc]

    def evaluate(self) -> None:
        globals_ = starlark.Globals.extended_by([starlark.LibraryExtension.StructType])
        module = starlark.Module()
        for name in ("docker_build", "k8s_resource", "local_resource", "sync", "run", "probe", "exec_action"):
            module.add_callable(name, self.record(name))
        module.add_callable("kustomize", self.kustomize)
        module.add_callable("read_json", lambda path: json.loads((REPO_ROOT / path).read_text()))
        module.add_callable("k8s_yaml", self.k8s_yaml)
        module.add_callable("decode_yaml_stream", lambda blob: [d for d in yaml.safe_load_all(blob) if d])
        module.add_callable("encode_yaml_stream", lambda objects: yaml.safe_dump_all(list(objects)))
        module.add_callable("_config_define_bool", self.record("config.define_bool"))
        module.add_callable("_config_parse", lambda: {"local": self.local})
        module.add_callable("http_get_action", lambda port, path="": {"port": port, "path": path})
        # uv from PATH, as where no `uv run` set UV (a test below puts a stand-in uv there)
        module.add_callable("_os_getenv", lambda name, default=None: default)
        prelude = (
            "config = struct(define_bool = _config_define_bool, parse = _config_parse,"
            + f" main_dir = {str(REPO_ROOT)!r})\n"
            + "os = struct(getenv = _os_getenv)\n"
        )
        source = prelude + (REPO_ROOT / "Tiltfile").read_text()
        # Tilt's dialect: statements at the top level, no f-strings (starlark-go has none).
        dialect = starlark.Dialect.standard()
        dialect.enable_top_level_stmt = True
        dialect.enable_f_strings = False
        starlark.eval(module, starlark.parse("Tiltfile", source, dialect), globals_)

    def kwargs_of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs | {"_args": list(args)} for args, kwargs in self.calls.get(name, [])]


@pytest.fixture(scope="module")
def cluster() -> TiltRecorder:
    recorder = TiltRecorder(local=False)
    recorder.evaluate()
    return recorder


@pytest.fixture(scope="module")
def local() -> TiltRecorder:
    recorder = TiltRecorder(local=True)
    recorder.evaluate()
    return recorder


def test_cluster_mode_deploys_the_dev_overlay_with_live_updates_patches(cluster: TiltRecorder) -> None:
    assert [args for args, _ in cluster.calls["kustomize"]] == [("k8s/overlays/tilt",)]
    assert "../dev" in (REPO_ROOT / "k8s/overlays/tilt/kustomization.yaml").read_text()
    assert cluster.yaml_objects, "the manifests reach k8s_yaml"
    for obj in cluster.yaml_objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith(("-web", "-worker")):
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            names = {variable["name"] for variable in container["env"]}
            assert {"GUNICORN_CMD_ARGS", "WORKER_AUTORELOAD"} <= names  # processes reload
            assert container["securityContext"]["readOnlyRootFilesystem"] is False  # syncs can write


def test_every_service_has_an_image_with_live_update(cluster: TiltRecorder) -> None:
    builds = {call["_args"][0]: call for call in cluster.kwargs_of("docker_build")}
    images_in_manifests = {
        c["image"].split(":")[0]
        for o in cluster.yaml_objects
        if o["kind"] in ("Deployment", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    units = [(s, SERVICE_LIBRARIES) for s in SERVICES] + [(a, APP_LIBRARIES) for a in APPS]
    assert set(builds) == {f"localhost/saga-{unit.name}" for unit, _ in units}
    for unit, libraries in units:
        ref = f"localhost/saga-{unit.name}"
        assert ref in images_in_manifests  # Tilt swaps in its build only for images the YAML names
        build = builds[ref]
        assert build["dockerfile"] == "Dockerfile"  # one for every service and app
        assert build["target"] == "dev"
        assert build["build_args"] == {
            "SERVICE": unit.folder,
            "PACKAGE": unit.package,
            "MODULE": unit.module,
            "UV_INSTALL_FLAGS": "",
        }
        assert "AS dev" in (REPO_ROOT / build["dockerfile"]).read_text()
        steps = [step["builtin"] for step in build["live_update"]]
        assert steps == ["sync", "sync", "sync", "run"]
        synced = [tuple(step["args"]) for step in build["live_update"] if step["builtin"] == "sync"]
        assert synced == [(folder, f"/app/{folder}") for folder in [*libraries, unit.folder]]
        (install,) = [step for step in build["live_update"] if step["builtin"] == "run"]
        assert install["args"] == [
            f"cd /app && /opt/uv/bin/uv sync --frozen --no-dev --package {unit.package}"
        ]
        # a dependency change of the unit or of any library it syncs re-installs
        expected = ["uv.lock", *(f"{folder}/pyproject.toml" for folder in [*libraries, unit.folder])]
        assert sorted(install["trigger"]) == sorted(expected)


def test_every_k8s_resource_names_a_workload_and_real_dependencies(cluster: TiltRecorder) -> None:
    workloads = {
        o["metadata"]["name"]
        for o in cluster.yaml_objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    resources = cluster.kwargs_of("k8s_resource")
    named = {call["_args"][0] for call in resources}
    assert named == workloads  # every workload has a resource, and no resource names nothing
    for call in resources:
        assert set(call.get("resource_deps", [])) <= named
        assert call["labels"]
    forwards = {call["_args"][0]: call.get("port_forwards") for call in resources}
    for app in APPS:
        assert forwards[f"{app.name}-web"] == [f"{app.port}:8000"]
    for service in SERVICES:
        assert forwards[f"{service.name}-web"] == [f"{service.port}:8000"]
        deps = {c["_args"][0]: c.get("resource_deps", []) for c in resources}[f"{service.name}-worker"]
        assert {"postgres", "kafka"} <= set(deps)


def test_web_and_worker_start_after_their_migrations(cluster: TiltRecorder) -> None:
    deps = {
        call["_args"][0]: set(call.get("resource_deps", [])) for call in cluster.kwargs_of("k8s_resource")
    }
    jobs = {o["metadata"]["name"] for o in cluster.yaml_objects if o["kind"] == "Job"}
    for service in SERVICES:
        migrate = f"{service.name}-migrate"
        assert migrate in jobs
        assert "postgres" in deps[migrate]
        assert migrate in deps[f"{service.name}-web"]
        assert migrate in deps[f"{service.name}-worker"]
        # the web needs no broker (its readiness checks only its database): it need not wait for one
        assert not {"kafka", "create-topics"} & deps[f"{service.name}-web"]


def test_apps_sign_in_for_development_and_wait_for_nothing(cluster: TiltRecorder) -> None:
    """The console in Tilt's cluster: dev sign-in on, minting with the dev cluster's signing key (the
    one the services check), which only the tilt overlay gives it; no migrations to wait for."""
    deployments = {o["metadata"]["name"]: o for o in cluster.yaml_objects if o["kind"] == "Deployment"}
    resources = {call["_args"][0]: call for call in cluster.kwargs_of("k8s_resource")}
    for app in APPS:
        (container,) = deployments[f"{app.name}-web"]["spec"]["template"]["spec"]["containers"]
        env = {variable["name"]: variable for variable in container["env"]}
        assert env["CONSOLE_DEV_SIGN_IN"]["value"] == "1"
        assert env["JWT_SIGNING_KEY"]["valueFrom"] == {
            "secretKeyRef": {"name": "saga-secrets", "key": "jwt-signing-key"}
        }
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
        assert not resources[f"{app.name}-web"].get("resource_deps")
        assert resources[f"{app.name}-web"]["labels"] == [app.name]


def test_local_mode_runs_everything_as_local_processes(local: TiltRecorder) -> None:
    assert "docker_build" not in local.calls
    assert not local.yaml_objects
    resources = {call["_args"][0]: call for call in local.kwargs_of("local_resource")}
    assert "serve_cmd" in resources["broker"]
    assert resources["prepare"]["resource_deps"] == ["broker"]
    for service in SERVICES:
        web, worker = resources[f"{service.name}-web"], resources[f"{service.name}-worker"]
        assert f"--bind 127.0.0.1:{service.port}" in web["serve_cmd"]
        assert "run_worker" in worker["serve_cmd"]
        for process in (web, worker):
            assert process["serve_dir"] == service.folder
            assert process["resource_deps"] == ["prepare"]
            assert service.folder in process["deps"]
            assert "libs/common/saga_common" in process["deps"]
    for app in APPS:  # the console: one process, dev sign-in, the APIs where the services listen
        web = resources[f"{app.name}-web"]
        assert f"--bind 127.0.0.1:{app.port}" in web["serve_cmd"]
        assert f"gunicorn {app.module}.wsgi " in web["serve_cmd"]
        assert web["serve_dir"] == app.folder
        assert web["resource_deps"] == ["prepare"]
        assert {app.folder, "libs/client/saga_client", "libs/common/saga_common", "uv.lock"} <= set(
            web["deps"]
        )
        assert web["serve_env"] == {
            "CONSOLE_DEV_SIGN_IN": "1",
            **{f"{s.name.upper()}_API_URL": f"http://127.0.0.1:{s.port}" for s in SERVICES},
        }
    for call in resources.values():
        assert set(call.get("resource_deps", [])) <= set(resources)


# A stand-in for uv on PATH: it records the keys it was started with and its arguments, one a line.
BROKER_ENV = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", *BROKER_PASSWORDS)
FAKE_UV = f"""#!/bin/sh
for name in {" ".join((*NAMES, *BROKER_ENV))}; do printenv "$name" || echo "<unset>"; done
printf '%s\\n' "$@"
"""


def test_local_resources_are_ready_only_when_they_serve(local: TiltRecorder, tmp_path: Path) -> None:
    """What `tilt ci` waits for: each web answers /healthz/ready on its port, each worker's heartbeat
    (the file the worker is told to touch, removed before it starts) is fresh, the broker serves
    metadata. Without probes Tilt counts a process ready the moment it starts."""
    resources = {call["_args"][0]: call for call in local.kwargs_of("local_resource")}
    for name, port in (PORTS | {app.name: app.port for app in APPS}).items():
        web = resources[f"{name}-web"]["readiness_probe"]
        assert web["builtin"] == "probe"
        assert web["http_get"] == {"port": port, "path": "/healthz/ready"}
    for service in SERVICES:
        worker = resources[f"{service.name}-worker"]
        heartbeat = worker["serve_env"]["WORKER_HEARTBEAT_FILE"]
        assert heartbeat.startswith(str(REPO_ROOT / ".run")), heartbeat
        assert worker["serve_cmd"].startswith(f"rm -f '{heartbeat}'; ")
        # its own database, as the web's (make up's, unless DEVSTACK_DATABASE_PREFIX names others)
        database = f"postgres://postgres@127.0.0.1:5432/{service.name}"
        assert worker["serve_env"]["DATABASE_URL"] == database
        assert resources[f"{service.name}-web"]["serve_env"]["DATABASE_URL"] == database
        (command,) = worker["readiness_probe"]["exec"]["args"]
        assert command[0] == "python3"
        assert command[-1] == heartbeat
    # the worker's check itself: no file or a stale one is not ready, a fresh one is
    beat = tmp_path / "worker.heartbeat"
    assert subprocess.run([*command[:-1], str(beat)], capture_output=True).returncode != 0
    beat.touch()
    assert subprocess.run([*command[:-1], str(beat)]).returncode == 0
    os.utime(beat, (beat.stat().st_mtime - 60,) * 2)
    assert subprocess.run([*command[:-1], str(beat)]).returncode != 0
    (broker_check,) = resources["broker"]["readiness_probe"]["exec"]["args"]
    assert broker_check[-1] == "broker-ready"


def run_serve_cmd(call: dict[str, Any], tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    """Run a local resource's serve_cmd as Tilt does (``sh -c`` in its serve_dir), in a copy of the
    repository's layout whose .run/local.env holds fresh keys and whose uv only reports what it got.
    Returns the keys the process was started with and the arguments uv was given."""
    root = tmp_path / "repo"
    env_file = root / LOCAL_ENV_FILE.relative_to(REPO_ROOT)
    env_file.parent.mkdir(parents=True)
    keys = {name: f"tilt-test-{name.lower()}" for name in NAMES}
    passwords = {name: f"tilt-test-{name.lower()}" for name in BROKER_PASSWORDS}
    env_file.write_text("".join(f"{name}={value}\n" for name, value in {**keys, **passwords}.items()))
    (root / call["serve_dir"]).mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(FAKE_UV)
    (bin_dir / "uv").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    # Tilt started from a shell with the admin's credentials (as make test's is): no process keeps them
    env |= {"BROKER": "kafka", "KAFKA_SASL_USERNAME": "admin", "KAFKA_SASL_PASSWORD": "the-admins"}
    assert isinstance(call["serve_cmd"], str)  # Tilt runs a string with sh -c
    result = subprocess.run(
        ["sh", "-c", call["serve_cmd"]], cwd=root / call["serve_dir"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = (*NAMES, *BROKER_ENV)
    started_with = dict(zip(names, lines[: len(names)], strict=True))
    assert {k: started_with[k] for k in NAMES} == keys, (
        f"{call['_args'][0]} does not load {LOCAL_ENV_FILE.relative_to(REPO_ROOT)}"
    )
    # its own user on the broker (a service's) or none (an app's), and no user's password left over
    owner = call["_args"][0].rsplit("-", 1)[0]
    user = owner if owner in PORTS and owner not in {a.name for a in APPS} else None
    assert all(started_with[name] == "<unset>" for name in BROKER_PASSWORDS), call["_args"][0]
    if user is None:
        assert started_with["KAFKA_SASL_PASSWORD"] == "<unset>"
        assert started_with["KAFKA_SASL_USERNAME"] == "<unset>"
    else:
        assert started_with["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert started_with["KAFKA_SASL_USERNAME"] == user
        assert started_with["KAFKA_SASL_PASSWORD"] == f"tilt-test-kafka_password_{user}"
    return started_with, lines[len(names) :]


def test_local_web_and_workers_start_with_the_generated_keys(local: TiltRecorder, tmp_path: Path) -> None:
    """Outside debug mode (as here) web and worker refuse to start with saga_common's development
    keys (checks E002/E003): each process run on the host loads the keys `devstack prepare` wrote
    to .run/local.env (devstack.local_keys), and starts only once prepare has run."""
    resources = {call["_args"][0]: call for call in local.kwargs_of("local_resource")}
    django = {
        name: call
        for name, call in resources.items()
        if any(word in str(call.get("serve_cmd", "")) for word in ("gunicorn", "manage.py", "run_worker"))
    }
    expected = [f"{s.name}-{c}" for s in SERVICES for c in ("web", "worker")] + [
        f"{a.name}-web" for a in APPS
    ]
    assert sorted(django) == sorted(expected)
    assert resources["prepare"]["cmd"] == "uv run --frozen devstack prepare"  # it writes .run/local.env
    for name, call in django.items():
        assert "prepare" in call["resource_deps"], name
        keys, argv = run_serve_cmd(call, tmp_path / name)
        assert not {DEV_SIGNING_KEY, DEV_SECRET_KEY} & set(keys.values())
        if name.endswith("-web"):
            assert argv[:3] == ["run", "--frozen", "gunicorn"], name
            # the images' gunicorn settings (saga_common.web.gunicorn_conf: metrics, one process)
            at = argv.index("--config")
            assert argv[at + 1] == "python:saga_common.web.gunicorn_conf", name
        else:
            assert argv == ["run", "--frozen", "python", "manage.py", "run_worker"], name
