"""The dependency rules of DESIGN.md: a headless core, and widgets that know only the model."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "monotui.model",
    "monotui.plan",
    "monotui.policy",
    "monotui.judge",
    "monotui.config",
    "monotui.controller",
    "monotui.audit",
    "monotui.status",
    "monotui.backends",
    "monotui.cli",
]


def _core_modules() -> list[str]:
    names = list(CORE)
    for folder in ("sources", "sim", "serve"):
        for path in sorted((ROOT / "monotui" / folder).glob("*.py")):
            if path.stem != "__init__":
                names.append(f"monotui.{folder}.{path.stem}")
    return names


def test_core_never_imports_textual() -> None:
    modules = _core_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext', 'widgets'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"


def test_cli_imports_no_heavy_client_before_use() -> None:
    code = (
        "import sys, monotui.cli\n"
        "heavy = ('kubernetes', 'prometheus_api_client', 'scipy', 'asyncssh')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_widgets_import_only_textual_and_the_model() -> None:
    allowed_monotui = {"monotui.model"}
    offenders = []
    for path in sorted((ROOT / "widgets").glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "monotui" and name not in allowed_monotui:
                offenders.append(f"{path.name}: {name}")
    assert offenders == [], f"widgets may import only monotui.model: {offenders}"
