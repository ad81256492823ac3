"""deploy/k8s: Kubernetes objects valid by the API's schemas, KubeRay objects by KubeRay v1's documented fields.

Core objects (PersistentVolumeClaim, Deployment, Service), and the pod
templates inside the KubeRay objects, are validated strictly (unknown fields
refused) with kubernetes-validate (PyPI, a dev dependency; its schemas ship
in the wheel) in a network namespace of its own. KubeRay publishes no schema
that package knows, so RayCluster and RayJob are checked against the fields
KubeRay v1 documents (``KUBERAY_V1`` below). The command lines in the
manifests are parsed by the programs' own option parsers, and the RayJob's
entrypoint is passed through the same quoting it meets on its way to the
head. Each check is also shown a broken copy, so a pass means it looked.
"""

from __future__ import annotations

import copy
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.commands import SERVE_OPTIONS, interop_params, ray_start_params
from tests.deploy.dockerfile import final_user

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OPERATORS_DOC = REPO / "docs" / "operators.md"
KUBERNETES_VERSIONS = [
    "1.29",
    "1.37",
]  # the oldest with sidecar containers (restartPolicy: Always); the newest
KUBERAY = "ray.io/v1"
GCS_PORT = 6379
RAY_TOKEN_SECRET_KEY = "auth_token"  # the key KubeRay's authOptions.secretName reads

# The fields KubeRay v1 documents for RayCluster and RayJob, from its API reference
# (https://ray-project.github.io/kuberay/reference/api/, docs/reference/api.md of
# ray-project/kuberay, master of 2026-08; authOptions.secretName since v1.6.0) and, for
# `required`, the CRDs' openAPIV3Schema (ray-operator/config/crd/bases). `ours` are fields this
# deployment relies on besides: the start parameters, the replica counts, the job's entrypoint
# and its clean-up.
KUBERAY_V1: dict[str, dict[str, set[str]]] = {
    "RayClusterSpec": {
        "fields": {
            "upgradeStrategy",
            "authOptions",
            "suspend",
            "managedBy",
            "autoscalerOptions",
            "headServiceAnnotations",
            "enableInTreeAutoscaling",
            "gcsFaultToleranceOptions",
            "historyServerOptions",
            "networkPolicy",
            "tlsOptions",
            "headGroupSpec",
            "rayVersion",
            "workerGroupSpecs",
        },
        "required": {"headGroupSpec"},
        "ours": {"rayVersion", "authOptions", "workerGroupSpecs"},
    },
    "HeadGroupSpec": {
        "fields": {
            "template",
            "headService",
            "enableIngress",
            "ingressOptions",
            "resources",
            "labels",
            "rayStartParams",
            "serviceType",
        },
        "required": {"template"},
        "ours": {"rayStartParams"},
    },
    "WorkerGroupSpec": {
        "fields": {
            "suspend",
            "groupName",
            "replicas",
            "minReplicas",
            "maxReplicas",
            "idleTimeoutSeconds",
            "priority",
            "resources",
            "labels",
            "rayStartParams",
            "template",
            "scaleStrategy",
            "numOfHosts",
        },
        "required": {"groupName", "minReplicas", "maxReplicas", "template"},
        "ours": {"replicas", "rayStartParams"},
    },
    "AuthOptions": {
        "fields": {"enableK8sTokenAuth", "secretName", "mode"},
        "required": set(),
        "ours": {"mode", "secretName"},
    },
    "RayJobSpec": {
        "fields": {
            "activeDeadlineSeconds",
            "backoffLimit",
            "rayClusterSpec",
            "submitterPodTemplate",
            "metadata",
            "clusterSelector",
            "submitterConfig",
            "managedBy",
            "deletionStrategy",
            "entrypoint",
            "runtimeEnvYAML",
            "jobId",
            "submissionMode",
            "entrypointResources",
            "entrypointNumCpus",
            "entrypointNumGpus",
            "ttlSecondsAfterFinished",
            "preRunningDeadlineSeconds",
            "shutdownAfterJobFinishes",
            "suspend",
        },
        "required": set(),
        "ours": {"entrypoint", "shutdownAfterJobFinishes", "rayClusterSpec"},
    },
}
AUTH_MODES = {"disabled", "token"}
RESOURCE_KEYS = {"cpu", "memory"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_objects() -> list[dict[str, Any]]:
    return [d for path in sorted(K8S.glob("*.yaml")) for d in documents(path)]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in all_objects() if d["kind"] == kind]


def _one(kind: str) -> dict[str, Any]:
    [found] = by_kind(kind)
    return found


def cluster_specs() -> list[tuple[str, dict[str, Any]]]:
    return [("RayCluster", _one("RayCluster")["spec"]), ("RayJob", _one("RayJob")["spec"]["rayClusterSpec"])]


def pod_templates() -> list[tuple[str, dict[str, Any]]]:
    """Every pod template: the Deployment's and each Ray group's."""
    found = [(f"Deployment/{d['metadata']['name']}", d["spec"]["template"]) for d in by_kind("Deployment")]
    for owner, spec in cluster_specs():
        found.append((f"{owner}/head", spec["headGroupSpec"]["template"]))
        found += [(f"{owner}/{g['groupName']}", g["template"]) for g in spec["workerGroupSpecs"]]
    return found


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template["spec"]["containers"] + template["spec"].get("initContainers", [])


# -- kubernetes-validate ------------------------------------------------------------------


def kubernetes_validate(
    objects: list[dict[str, Any]], version: str, tmp_path: Path
) -> subprocess.CompletedProcess:
    """The kubernetes-validate command, strict, offline (a network namespace of its own)."""
    path = tmp_path / f"objects-{version}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    executable = Path(sys.executable).parent / "kubernetes-validate"
    return subprocess.run(
        ["unshare", "--net", "--", str(executable), "--strict", "--kubernetes-version", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def core_objects() -> list[dict[str, Any]]:
    core = [d for d in all_objects() if not d["apiVersion"].startswith("ray.io/")]
    # The pod templates inside KubeRay objects, as the core PodTemplate kind they are.
    core += [
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": re.sub(r"[^a-z0-9-]", "-", name.lower())},
            "template": template,
        }
        for name, template in pod_templates()
        if not name.startswith("Deployment/")
    ]
    return core


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_and_ray_pod_templates_pass_kubernetes_validate(tmp_path, version):
    objects = core_objects()
    assert {o["kind"] for o in objects} == {"PersistentVolumeClaim", "Deployment", "Service", "PodTemplate"}
    result = kubernetes_validate(objects, version, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.findall(r"passed for resource (\S+)", result.stdout + result.stderr)
    assert len(passed) == len(objects), result.stdout + result.stderr


@pytest.mark.parametrize(
    "kind, breaking, field",
    [
        ("Deployment", lambda d: d["spec"].__setitem__("replica", d["spec"].pop("replicas")), "replica"),
        (
            "PodTemplate",
            lambda d: d["template"]["spec"]["containers"][0]["securityContext"].__setitem__(
                "runAsNonroot", True
            ),
            "runAsNonroot",
        ),
    ],
)
def test_kubernetes_validate_sees_a_mistake(tmp_path, kind, breaking, field):
    objects = copy.deepcopy(core_objects())
    breaking(next(o for o in objects if o["kind"] == kind))
    result = kubernetes_validate(objects, KUBERNETES_VERSIONS[-1], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "did not validate" in output, output
    assert f"'{field}' was unexpected" in output, output


# -- KubeRay v1's documented fields ------------------------------------------------------


def kuberay_problems(kind: str, spec: dict[str, Any]) -> list[str]:
    """What a RayCluster's or RayJob's spec has that KubeRay v1 does not document, or lacks."""
    problems: list[str] = []

    def fields(name: str, where: str, value: dict[str, Any]) -> None:
        table = KUBERAY_V1[name]
        problems.extend(f"{where}: unknown field {key}" for key in sorted(set(value) - table["fields"]))
        needed = table["required"] | table["ours"]
        problems.extend(f"{where}: missing {key}" for key in sorted(needed - set(value)))

    def start_params(where: str, params: dict[str, Any]) -> None:
        # KubeRay passes each as --key=value to `ray start`: strings only.
        problems.extend(
            f"{where}.rayStartParams.{k}: not a string" for k, v in params.items() if not isinstance(v, str)
        )

    def cluster(where: str, value: dict[str, Any]) -> None:
        fields("RayClusterSpec", where, value)
        head = value.get("headGroupSpec", {})
        fields("HeadGroupSpec", f"{where}.headGroupSpec", head)
        start_params(f"{where}.headGroupSpec", head.get("rayStartParams", {}))
        auth = value.get("authOptions", {})
        fields("AuthOptions", f"{where}.authOptions", auth)
        if auth.get("mode") not in AUTH_MODES:
            problems.append(
                f"{where}.authOptions.mode: {auth.get('mode')!r} is not one of {sorted(AUTH_MODES)}"
            )
        for index, group in enumerate(value.get("workerGroupSpecs", [])):
            at = f"{where}.workerGroupSpecs[{index}]"
            fields("WorkerGroupSpec", at, group)
            start_params(at, group.get("rayStartParams", {}))
            counts = [group.get(k) for k in ("minReplicas", "replicas", "maxReplicas")]
            if not all(isinstance(c, int) for c in counts) or not counts[0] <= counts[1] <= counts[2]:
                problems.append(f"{at}: minReplicas <= replicas <= maxReplicas does not hold: {counts}")

    if kind == "RayCluster":
        cluster("spec", spec)
    else:
        fields("RayJobSpec", "spec", spec)
        if not isinstance(spec.get("entrypoint"), str) or spec.get("shutdownAfterJobFinishes") is not True:
            problems.append("spec: entrypoint must be a command and shutdownAfterJobFinishes true")
        cluster("spec.rayClusterSpec", spec.get("rayClusterSpec", {}))
    return problems


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob"])
def test_kuberay_objects_use_only_documented_fields_and_have_the_required_ones(kind):
    resource = _one(kind)
    assert resource["apiVersion"] == KUBERAY
    assert kuberay_problems(kind, resource["spec"]) == []


@pytest.mark.parametrize(
    "kind, breaking, expected",
    [
        (
            "RayCluster",
            lambda s: s.__setitem__("workerGroupSpec", s.pop("workerGroupSpecs")),
            "unknown field workerGroupSpec",
        ),
        (
            "RayCluster",
            lambda s: s["headGroupSpec"]["rayStartParams"].__setitem__("num-cpus", 0),
            "not a string",
        ),
        ("RayJob", lambda s: s.pop("shutdownAfterJobFinishes"), "missing shutdownAfterJobFinishes"),
        (
            "RayJob",
            lambda s: s["rayClusterSpec"]["workerGroupSpecs"][0].pop("maxReplicas"),
            "missing maxReplicas",
        ),
    ],
)
def test_the_kuberay_check_sees_a_mistake(kind, breaking, expected):
    spec = copy.deepcopy(_one(kind)["spec"])
    breaking(spec)
    assert any(expected in problem for problem in kuberay_problems(kind, spec))


# -- what the pods run ---------------------------------------------------------------------


@pytest.mark.parametrize("name, template", pod_templates(), ids=[n for n, _ in pod_templates()])
def test_every_pod_runs_the_image_as_its_non_root_user_with_limits_and_no_usage_statistics(name, template):
    spec = template["spec"]
    user, _, group = final_user().partition(":")
    context = spec["securityContext"]
    assert context["runAsNonRoot"] is True
    assert (context["runAsUser"], context["runAsGroup"]) == (int(user), int(group))
    assert spec["automountServiceAccountToken"] is False
    for container in containers(template):
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == RESOURCE_KEYS, (
            name,
            container["name"],
        )
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env.get("RAY_USAGE_STATS_ENABLED") == "0", (name, container["name"])


def test_every_container_runs_the_one_image():
    images = {c["image"] for _, template in pod_templates() for c in containers(template)}
    assert len(images) == 1, images  # one image to build, push and name


def test_ray_clusters_use_token_authentication_with_one_secret():
    secrets = {spec["authOptions"]["secretName"] for _, spec in cluster_specs()}
    assert {spec["authOptions"]["mode"] for _, spec in cluster_specs()} == {"token"} and len(secrets) == 1
    # The service's pod joins the cluster: each of its containers carries the same token.
    [secret] = secrets
    for container in containers(_one("Deployment")["spec"]["template"]):
        env = {e["name"]: e for e in container["env"]}
        assert env["RAY_AUTH_MODE"]["value"] == "token", container["name"]
        assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": secret,
            "key": RAY_TOKEN_SECRET_KEY,
        }


def _mounts(template: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there."""
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}


def _volume_of(path: str, mounts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    [volume] = [v for mount, v in mounts.items() if Path(path).is_relative_to(mount)]
    return volume


def test_the_service_runs_its_schedule_on_the_cluster_with_what_it_needs_mounted():
    deployment = _one("Deployment")
    template = deployment["spec"]["template"]
    [serve] = template["spec"]["containers"]
    assert serve["command"][:2] == ["interop", "serve"]
    params = interop_params(serve["command"][1:])
    assert set(SERVE_OPTIONS) <= set(serve["command"]), set(SERVE_OPTIONS) - set(serve["command"])
    assert params["every"] == "6h" and params["keep"] >= 1
    mounts = _mounts(template, serve)
    assert (
        _volume_of(str(params["store_path"]), mounts)["persistentVolumeClaim"]["claimName"]
        == _one("PersistentVolumeClaim")["metadata"]["name"]
    )
    assert _volume_of(str(params["inventory"]), mounts)["configMap"]["name"] == "spbe-interop-inventory"
    assert _volume_of(str(params["tokens"]), mounts)["secret"]["secretName"] == "spbe-interop-service-tokens"
    # The head service KubeRay makes for a RayCluster is <name>-head-svc; its GCS port.
    assert params["ray_address"] == f"{_one('RayCluster')['metadata']['name']}-head-svc:{GCS_PORT}"
    # One writer of the store, never two during a rollout.
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    # Probes: /healthz keeps it alive, /readyz puts it behind the Service.
    assert serve["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert serve["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert serve["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_service_pod_is_a_ray_node_its_sweeps_can_drive():
    """A Ray driver must run on a node of its cluster and find that node's raylet among its processes."""
    template = _one("Deployment")["spec"]["template"]
    [serve] = template["spec"]["containers"]
    [node] = template["spec"]["initContainers"]
    assert node["restartPolicy"] == "Always" and template["spec"]["shareProcessNamespace"] is True
    assert node["command"][:2] == ["ray", "start"]
    params = ray_start_params(node["command"][2:])
    assert params["num_cpus"] == 0 and params["block"] and params["disable_usage_stats"]
    assert params["address"] == f"{_one('RayCluster')['metadata']['name']}-head-svc:{GCS_PORT}"
    # Ray's sockets, where the node writes them and the service's sweeps look: one volume.
    node_volume = _volume_of(params["temp_dir"], _mounts(template, node))
    assert node_volume is _volume_of(params["temp_dir"], _mounts(template, serve))


def test_the_service_is_reachable_through_its_service_object():
    service, deployment = _one("Service"), _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [serve] = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in serve["ports"]}
    [port] = service["spec"]["ports"]
    listen = serve["command"]
    assert ports[port["targetPort"]] == int(listen[listen.index("--listen") + 1].rsplit(":", 1)[1])


# -- the RayJob's entrypoint on its way to the head ----------------------------------------

# Stand-in for `ray job submit … -- ENTRYPOINT`: Ray's job CLI re-joins the words after `--`
# with shlex.join (ray/dashboard/modules/job/cli.py) and sends that string.
SUBMIT = "import shlex, sys; print(shlex.join(sys.argv[sys.argv.index('--') + 1:]))"
RECORD_ARGV = '#!/bin/sh\nprintf \'%s\\n\' "$@" > "$RECORD"\n'


def _entrypoint_as_the_head_runs_it(entrypoint: str, tmp_path: Path, gcs: str) -> list[str]:
    """The argv `interop` gets on the head, from the entrypoint as KubeRay and Ray pass it on.

    KubeRay's submitter runs one `bash -ce` script with `-- ENTRYPOINT ;` in it (K8sJobMode,
    ray-operator/controllers/ray/common/job.go); Ray's job CLI shlex.joins the words; the job
    supervisor runs that string with a shell, with RAY_ADDRESS set to the cluster's GCS address
    (ray/dashboard/modules/job/job_supervisor.py).
    """
    script = f"{shlex.quote(sys.executable)} -c {shlex.quote(SUBMIT)} -- {entrypoint} ;"
    sent = subprocess.run(
        ["bash", "-ce", script], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"}
    )
    assert sent.returncode == 0, sent.stderr
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "interop").write_text(RECORD_ARGV)
    (shims / "interop").chmod(0o755)
    record = tmp_path / "argv"
    environment = {"PATH": f"{shims}:/usr/bin:/bin", "RAY_ADDRESS": gcs, "RECORD": str(record)}
    ran = subprocess.run(  # noqa: S602 - the test: the line a shell runs
        sent.stdout.strip(), shell=True, capture_output=True, text=True, timeout=30, env=environment
    )
    assert ran.returncode == 0, ran.stderr
    return record.read_text().splitlines()


def test_the_rayjob_sweeps_the_inventory_on_its_own_cluster_into_the_service_store(tmp_path):
    job = _one("RayJob")["spec"]
    argv = _entrypoint_as_the_head_runs_it(job["entrypoint"], tmp_path, "10.1.2.3:6379")
    assert argv[:2] == ["sweep", "run"]
    params = interop_params(argv)
    assert params["ray_address"] == "10.1.2.3:6379"
    head = job["rayClusterSpec"]["headGroupSpec"]["template"]
    mounts = _mounts(head, head["spec"]["containers"][0])
    assert _volume_of(str(params["inventory"]), mounts)["configMap"]["name"] == "spbe-interop-inventory"
    store = _volume_of(str(params["store_path"]), mounts)
    assert store["persistentVolumeClaim"]["claimName"] == _one("PersistentVolumeClaim")["metadata"]["name"]
    # SQLite's writers and readers share one machine: the head goes where the service's pod is.
    [term] = head["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    service_pod = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert term["labelSelector"]["matchLabels"].items() <= service_pod.items()


def test_an_entrypoint_naming_the_address_plainly_loses_it_on_the_way(tmp_path):
    """The control: without `bash -c '…'` the address is expanded (to nothing) by the submitter, not the head."""
    plain = 'interop sweep run --inventory i.yaml --ray-address "$RAY_ADDRESS"'
    argv = _entrypoint_as_the_head_runs_it(plain, tmp_path, "10.1.2.3:6379")
    assert argv[argv.index("--ray-address") + 1] != "10.1.2.3:6379"


def test_the_secrets_and_config_maps_the_manifests_name_are_created_in_the_docs():
    text = OPERATORS_DOC.read_text()
    volumes = [v for _, template in pod_templates() for v in template["spec"].get("volumes", [])]
    named = {v["secret"]["secretName"] for v in volumes if "secret" in v}
    named |= {v["configMap"]["name"] for v in volumes if "configMap" in v}
    named |= {spec["authOptions"]["secretName"] for _, spec in cluster_specs()}
    for name in named:
        assert re.search(rf"kubectl .*create (secret generic|configmap) {re.escape(name)}\b", text), name
