"""deploy/: the manifests are what the API server would accept (every field known to the
kubernetes client's own models, with the right types), `kubectl apply` takes them against the
fake API server, the RBAC grants exactly what the autopilot does (checked against a real run),
and the Deployment, ConfigMap and Containerfile agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.autopilot_helpers import ROOT, Autopilot, holder
from tests.configs import parse
from tests.fakekube import FakeKube, kubectl
from tests.router_helpers import virtual_service

DEPLOY = ROOT / "deploy"
MODELS = {
    "Namespace": client.V1Namespace,
    "ServiceAccount": client.V1ServiceAccount,
    "ClusterRole": client.V1ClusterRole,
    "ClusterRoleBinding": client.V1ClusterRoleBinding,
    "Role": client.V1Role,
    "RoleBinding": client.V1RoleBinding,
    "ConfigMap": client.V1ConfigMap,
    "Deployment": client.V1Deployment,
    "PodDisruptionBudget": client.V1PodDisruptionBudget,
}


def manifests() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests() if m["kind"] == kind]


def unknown_fields(given: Any, known: Any, path: str = "") -> list[str]:
    """Keys of `given` that the model dropped (a typo, a field of another version)."""
    if isinstance(given, dict) and isinstance(known, dict):
        out = []
        for key, value in given.items():
            if key not in known:
                out.append(f"{path}.{key}")
            else:
                out += unknown_fields(value, known[key], f"{path}.{key}")
        return out
    if isinstance(given, list) and isinstance(known, list):
        return [
            x
            for i, (a, b) in enumerate(zip(given, known, strict=False))
            for x in unknown_fields(a, b, f"{path}[{i}]")
        ]
    return []


def checked(manifest: dict[str, Any]) -> list[str]:
    """Validate `manifest` with the client's model of its kind; the fields it does not know."""
    model = MODELS[manifest["kind"]].from_dict(manifest)
    dumped = model.model_dump(by_alias=True, exclude_none=True)
    return unknown_fields(manifest, dumped)


def test_every_manifest_is_a_valid_object_of_its_kind() -> None:
    found = manifests()
    assert sorted(m["kind"] for m in found) == sorted(MODELS)
    for manifest in found:
        assert checked(manifest) == [], manifest["kind"]


def test_the_check_catches_a_misspelt_field_and_a_wrong_type() -> None:
    (deployment,) = by_kind("Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    assert checked(deployment) == [".spec.template.spec.containers[0].readinesProbe"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(ValueError):
        checked(deployment)


def test_kubectl_applies_them_to_the_api_server(fake_kube: FakeKube, tmp_path: Path) -> None:
    fake_kube.serve("", ["v1"], {"serviceaccounts": "ServiceAccount"}, status_subresource=False)
    rbac = "rbac.authorization.k8s.io"
    fake_kube.serve(rbac, ["v1"], {"roles": "Role", "rolebindings": "RoleBinding"})
    cluster = {"clusterroles": "ClusterRole", "clusterrolebindings": "ClusterRoleBinding"}
    fake_kube.serve(rbac, ["v1"], cluster, namespaced=False)
    fake_kube.serve("policy", ["v1"], {"poddisruptionbudgets": "PodDisruptionBudget"})
    config = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    # The fake serves no OpenAPI document: the schema check is the test above.
    dry = kubectl(config, "apply", "--dry-run=client", "--validate=false", "-f", str(DEPLOY))
    assert dry.returncode == 0, dry.stderr
    assert len(re.findall(r"created \(dry run\)", dry.stdout)) == len(MODELS)
    done = kubectl(config, "apply", "--validate=false", "-f", str(DEPLOY))
    assert done.returncode == 0, done.stderr
    stored = fake_kube.get_object("apps", "v1", "deployments", "monotui", "monotui-autopilot")
    assert stored["spec"]["replicas"] == 2


def test_the_deployment_runs_two_locked_down_replicas_with_probes_and_the_config() -> None:
    (deployment,) = by_kind("Deployment")
    (configmap,) = by_kind("ConfigMap")
    (account,) = by_kind("ServiceAccount")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    args = container["args"]
    port = int(args[args.index("--listen") + 1].rpartition(":")[2])
    (named,) = [p for p in container["ports"] if p["containerPort"] == port]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": named["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": named["name"]}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])

    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_file = Path(args[args.index("-c") + 1])
    (config_volume,) = [n for n, v in volumes.items() if "configMap" in v]
    assert volumes[config_volume]["configMap"]["name"] == configmap["metadata"]["name"]
    assert Path(mounts[config_volume]) / config_file.name == config_file
    cfg = parse(tomllib.loads(configmap["data"][config_file.name]))
    assert cfg.audit.path is not None
    writable = [Path(mounts[n]) for n, v in volumes.items() if "emptyDir" in v]
    assert cfg.audit.path.parent in writable  # the only writable places: emptyDirs
    assert [r.policy for r in cfg.rollouts] == ["auto"]


def test_a_drain_takes_the_replicas_one_at_a_time() -> None:
    (deployment,) = by_kind("Deployment")
    (budget,) = by_kind("PodDisruptionBudget")
    assert budget["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["maxUnavailable"] < deployment["spec"]["replicas"]


def test_everything_the_autopilot_writes_by_default_is_on_a_writable_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The image's user has no home and the root file system is read-only: the notifiers'
    queues and ledgers (the XDG state folder) must land on an emptyDir, like the audit log."""
    from monotui.notify.build import state_dir

    (deployment,) = by_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    home = re.search(r"useradd .*?(?:--home-dir|-d) (\S+)", containerfile())
    monkeypatch.setenv("HOME", home.group(1) if home else "/home/monotui")  # useradd's default
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    for env in container["env"]:
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = [
        Path(m["mountPath"])
        for m in container["volumeMounts"]
        if "emptyDir" in volumes[m["name"]] and not m.get("readOnly")
    ]
    assert any(state_dir().is_relative_to(w) for w in writable), state_dir()


def containerfile() -> str:
    return (DEPLOY / "Containerfile").read_text(encoding="utf-8")


def test_the_containerfile_installs_the_wheel_and_runs_as_a_user() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    froms = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert froms and all(f.endswith("python:3.11-slim") or " AS " in f for f in froms)
    assert "pip wheel" in text and re.search(r"pip install .*monotui-\*\.whl", text)
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and not user[-1].startswith(("0", "root"))
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.M):
        for name in source.split():
            assert (ROOT / name).exists(), f"the Containerfile copies {name}, which is missing"
    (deployment,) = by_kind("Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert '"-c", "/etc/monotui/monotui.toml"' in text and "/etc/monotui/monotui.toml" in args
    assert 'ENTRYPOINT ["monotui", "autopilot"]' in text


def granted() -> set[tuple[str, str, str]]:
    """(group, resource, verb) the ClusterRole and the Role grant."""
    rules = [r for kind in ("ClusterRole", "Role") for m in by_kind(kind) for r in m["rules"]]
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_rbac_is_exactly_the_verbs_the_autopilot_needs() -> None:
    routes = {"get", "list", "watch", "patch"}
    expected = (
        {("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")}
        | {("networking.istio.io", "virtualservices", v) for v in routes}
        | {
            ("gateway.networking.k8s.io", r, v)
            for r in ("httproutes", "grpcroutes")
            for v in routes
        }
        | {("argoproj.io", "rollouts", v) for v in routes}
        | {("argoproj.io", "rollouts/status", "patch")}
        | {("flagger.app", "canaries", v) for v in routes}
        | {("core.openfeature.dev", "featureflags", v) for v in routes}
        | {("", "events", "create"), ("events.k8s.io", "events", "create")}
    )
    assert granted() == expected
    (account,) = by_kind("ServiceAccount")
    subject = {
        "kind": "ServiceAccount",
        **{k: account["metadata"][k] for k in ("name", "namespace")},
    }
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in by_kind(kind):
            assert binding["subjects"] == [subject]


def test_a_running_autopilot_uses_nothing_the_rbac_does_not_grant(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    pilot = Autopilot(fake_kube, tmp_path, "pod-a", nodata_limit=2)  # it pauses: a patch
    try:
        pilot.wait_for(lambda e: e.get("action") == "pause", 30, "its automatic pause")
        assert holder(fake_kube) == "pod-a"
        assert pilot.terminate() == 0
    finally:
        pilot.close()
    used = set()
    for request in fake_kube.requests:
        if request.resource is None:  # discovery
            continue
        parts = request.path.split("/")
        group = "" if parts[1] == "api" else parts[2]
        used.add((group, request.resource, request.verb))
    assert ("coordination.k8s.io", "leases", "update") in used
    assert ("networking.istio.io", "virtualservices", "patch") in used
    assert used <= granted(), used - granted()
