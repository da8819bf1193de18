"""Argo Rollouts Rollout manifests as a cluster holds them (spec and controller-written status),
and what `kubectl argo rollouts` would make of them, for the Argo router tests."""

from __future__ import annotations

import copy
from typing import Any

from monotui.config import RolloutConfig
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.fakekube.jsonpatch import apply_merge_patch
from tests.router_helpers import NS

ARGO = "argoproj.io"
STABLE_HASH = "5d8f9c6b7"
CANARY_HASH = "6b9c7f8d4"

# A canary through Istio: the weights Argo set on the mesh are in status.canary.weights.
ISTIO_STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {}},
    {"setWeight": 20},
    {"pause": {"duration": "1h"}},
    {"analysis": {"templates": [{"templateName": "success-rate"}]}},
    {"setWeight": 50},
    {"setCanaryScale": {"weight": 50}},
    {"pause": {"duration": "10m"}},
]
# A basic canary (no traffic routing): the weight is the setWeight of the current step.
BASIC_STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 40},
    {"pause": {"duration": 10}},
    {"setWeight": 60},
    {"pause": {"duration": "10s"}},
    {"setWeight": 80},
    {"pause": {"duration": "10s"}},
]


def argo_rollout(name: str = "reviews") -> RolloutConfig:
    return rollout_config(
        {
            "name": "reviews",
            "namespace": NS,
            "router": {"kind": "argo", "name": name},
            "metrics": {"kind": "none"},
        }
    )


def rollout_obj(
    *,
    routing: bool = True,
    index: int | None = 1,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """The `reviews` Rollout. Default: Istio routing, paused at the `pause: {}` of step 2 of 8."""
    canary: dict[str, Any] = {
        "canaryService": "reviews-canary",
        "stableService": "reviews-stable",
        "steps": copy.deepcopy(ISTIO_STEPS if routing else BASIC_STEPS),
    }
    if routing:
        canary["trafficRouting"] = {
            "istio": {
                "virtualService": {"name": "reviews", "routes": ["primary"]},
                "destinationRule": {
                    "name": "reviews",
                    "canarySubsetName": "canary",
                    "stableSubsetName": "stable",
                },
            }
        }
        canary["analysis"] = {"templates": [{"templateName": "error-rate"}], "startingStep": 2}
    body: dict[str, Any] = {
        "HPAReplicas": 5,
        "availableReplicas": 5,
        "blueGreen": {},
        "canary": {},
        "conditions": [
            {
                "lastTransitionTime": "2024-05-02T09:12:03Z",
                "lastUpdateTime": "2024-05-02T09:12:03Z",
                "message": "Rollout has minimum availability",
                "reason": "AvailableReason",
                "status": "True",
                "type": "Available",
            }
        ],
        "currentPodHash": CANARY_HASH,
        "currentStepHash": "7c9d5f6b8f",
        "observedGeneration": "4",
        "phase": "Paused",
        "message": "CanaryPauseStep",
        "readyReplicas": 5,
        "replicas": 6,
        "selector": "app=reviews",
        "stableRS": STABLE_HASH,
        "updatedReplicas": 1,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2024-05-02T09:14:11Z"}],
        "controllerPause": True,
    }
    if index is not None:
        body["currentStepIndex"] = index
    if routing:
        body["canary"]["weights"] = traffic(10)
    body.update(status or {})
    body = {k: v for k, v in body.items() if v is not None}
    return {
        "apiVersion": f"{ARGO}/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": "reviews",
            "namespace": NS,
            "labels": {"app": "reviews"},
            "annotations": {"rollout.argoproj.io/revision": "2"},
        },
        "spec": {
            "replicas": 5,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": {"app": "reviews"}},
            "strategy": {"canary": canary},
            "template": {
                "metadata": {"labels": {"app": "reviews"}},
                "spec": {"containers": [{"name": "reviews", "image": "bookinfo/reviews:v2"}]},
            },
            **spec,
        },
        "status": body,
    }


def traffic(canary: int, stable: int | None = None) -> dict[str, Any]:
    return {
        "canary": {
            "podTemplateHash": CANARY_HASH,
            "serviceName": "reviews-canary",
            "weight": canary,
        },
        "stable": {
            "podTemplateHash": STABLE_HASH,
            "serviceName": "reviews-stable",
            "weight": 100 - canary if stable is None else stable,
        },
    }


def running(**over: Any) -> dict[str, Any]:
    """A basic canary at setWeight 40 (step 3/8), progressing, with no pause conditions."""
    return rollout_obj(
        routing=False,
        index=2,
        status={
            "phase": "Progressing",
            "message": "more replicas need to be updated",
            "pauseConditions": None,
            "controllerPause": None,
            **over,
        },
    )


def aborted() -> dict[str, Any]:
    """Aborted by a failed analysis: Degraded, all traffic back on stable, step index reset to 0."""
    return rollout_obj(
        index=0,
        status={
            "abort": True,
            "abortedAt": "2024-05-02T09:31:40Z",
            "phase": "Degraded",
            "message": 'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" '
            "assessed Failed due to failed (3) > failureLimit (2)",
            "pauseConditions": None,
            "controllerPause": None,
            "canary": {"weights": traffic(0)},
        },
    )


def promoted() -> dict[str, Any]:
    """Every step done and the new revision stable: Healthy, nothing in flight."""
    weights = traffic(0)
    weights["canary"]["podTemplateHash"] = CANARY_HASH
    weights["stable"]["podTemplateHash"] = CANARY_HASH
    return rollout_obj(
        index=len(ISTIO_STEPS),
        status={
            "stableRS": CANARY_HASH,
            "phase": "Healthy",
            "message": None,
            "pauseConditions": None,
            "controllerPause": None,
            "canary": {"weights": weights},
        },
    )


def stored(fake: FakeKube) -> dict[str, Any]:
    return fake.get_object(ARGO, "v1alpha1", "rollouts", NS, "reviews")


def kubectl(before: dict[str, Any], *merge_patches: dict[str, Any]) -> dict[str, Any]:
    """The object after kubectl argo rollouts' merge patches, minus what the server bumps."""
    out = copy.deepcopy(before)
    for patch in merge_patches:
        out = apply_merge_patch(out, patch)
    return comparable(out)


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    for key in ("resourceVersion", "generation", "uid", "creationTimestamp"):
        out["metadata"].pop(key, None)
    return out
