"""The container images of the project: what `make images` builds and the manifests may name."""

from dataclasses import dataclass

from devstack.services import SERVICES


@dataclass(frozen=True)
class Image:
    name: str  # the name the kustomize base uses; overlays map it to a registry and tag
    dockerfile: str  # relative to the repository root, which is the build context

    def local_tag(self, tag: str = "dev") -> str:
        return f"localhost/{self.name}:{tag}"


SERVICE_IMAGES = tuple(Image(f"saga-{s.name}", f"{s.folder}/Dockerfile") for s in SERVICES)
# Upstream images the manifests run as they are (pinned tags, from their official registries).
THIRD_PARTY_IMAGES = ("postgres:15", "apache/kafka:3.9.1")
