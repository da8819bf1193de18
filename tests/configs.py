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
