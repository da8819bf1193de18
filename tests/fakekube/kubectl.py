"""Running the real ``kubectl`` against the fake, with its own discovery cache per kubeconfig."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["kubectl"]


def kubectl(
    kubeconfig: Path, *args: str, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    """``kubectl ARGS`` on ``kubeconfig`` (exit code, stdout, stderr as text); never raises on
    a non-zero exit. A missing binary fails the test (it never skips)."""
    binary = shutil.which("kubectl") or "/usr/bin/kubectl"
    if not Path(binary).exists():
        pytest.fail("kubectl is not installed: CI must install it (apt-get install kubectl)")
    cache = kubeconfig.parent / ".kube-cache"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    return subprocess.run(
        [binary, f"--cache-dir={cache}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
