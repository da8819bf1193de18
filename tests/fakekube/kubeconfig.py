"""Kubeconfig files that point the real ``kubernetes`` client at the fake, with token auth."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["KubeContext", "write_kubeconfig"]


@dataclass(frozen=True)
class KubeContext:
    """One context of a written kubeconfig: its cluster is named like it and points at ``server``."""

    name: str
    user: str = "alice"
    namespace: str = "default"
    server: str | None = None  # default: this fake


def write_kubeconfig(
    path: str | Path,
    url: str,
    token_users: MutableMapping[str, str],
    contexts: Iterable[KubeContext],
    current: str,
    token: str | None,
) -> Path:
    """Write ``contexts`` (the first one's user gets ``token``); record each token's user.

    Every other user gets the token ``fake-token-<user>``, so a 403 can name who was denied.
    """
    contexts = list(contexts)
    user = contexts[0].user
    users = {}
    for ctx in contexts:
        tok = token if (token and ctx.user == user) else f"fake-token-{ctx.user}"
        users[ctx.user] = tok
        token_users.setdefault(tok, ctx.user)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": c.name, "cluster": {"server": c.server or url}} for c in contexts],
        "users": [{"name": u, "user": {"token": t}} for u, t in users.items()],
        "contexts": [
            {
                "name": c.name,
                "context": {"cluster": c.name, "user": c.user, "namespace": c.namespace},
            }
            for c in contexts
        ],
        "current-context": current,
    }
    path = Path(path)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
