"""Configurations for tests, validated against the production kinds like `monotui` does."""

from __future__ import annotations

from typing import Any

from monotui import config
from monotui.config import Config, RolloutConfig
from monotui.registry import PRODUCTION


def parse(data: dict[str, Any], source: str = "<config>") -> Config:
    """A whole configuration from decoded TOML (raises ConfigError like `monotui` would)."""
    return config.parse(data, source, kinds=PRODUCTION)


def rollout_config(data: dict[str, Any]) -> RolloutConfig:
    """One `[[rollouts]]` table, validated."""
    return RolloutConfig.model_validate(data, context={"kinds": PRODUCTION})


def load(path: Any, env: dict[str, str] | None = None) -> Config:
    """A configuration file, as `monotui` loads it."""
    return config.load(path, env, kinds=PRODUCTION)


def reviews_toml(*, interval_s: float | None = None, more: str = "") -> str:
    """A config file's text, to `.format(audit=...)`: one rollout `reviews` in `bookinfo` on its
    Istio VirtualService (v1 stable, v2 canary), metrics off; `more`: the rollout's further
    tables (its flags, its synthetics), placeholders and all."""
    interval = "" if interval_s is None else f"interval_s = {interval_s:g}\n"
    return (
        '\n[audit]\npath = "{audit}"\n\n[[rollouts]]\nname = "reviews"\nnamespace = "bookinfo"\n'
        f"{interval}"
        '[rollouts.router]\nkind = "istio"\nname = "reviews"\nstable = "v1"\ncanary = "v2"\n'
        '[rollouts.metrics]\nkind = "none"\n'
    ) + more
