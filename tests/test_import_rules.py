"""The dependency rules of DESIGN.md: a headless core, widgets that know only the model, and no
import circle between the project's modules. Modules are found by walking the packages, so a new
module is checked without anyone adding it to a list."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monotui", "widgets")
SHELL = ("monotui.app", "monotui.screens")
"""The Textual shell: the only project modules that may import Textual (besides widgets)."""


def _modules() -> dict[str, Path]:
    """Every module of the project's packages: dotted name -> file."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _core() -> list[str]:
    return sorted(
        name
        for name in MODULES
        if name.startswith("monotui")
        and not name.endswith(".__main__")  # importing it runs the program
        and not any(name == s or name.startswith(s + ".") for s in SHELL)
    )


def _imports(name: str, path: Path) -> list[str]:
    """Every module `name` imports, anywhere in it (top level, functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
    return names


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {m for m in _imports(name, path) if m in MODULES and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_finds_the_core_and_the_shell() -> None:
    core = _core()
    assert "monotui.rollout.observer" in core and "monotui.sources.router_istio" in core
    assert "monotui.app" not in core and "monotui.screens.cockpit" not in core


def test_core_never_imports_textual() -> None:
    modules = _core()
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
        "print(','.join(m for m in ('kubernetes', 'prometheus_api_client', 'scipy', 'asyncssh') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_widgets_import_only_textual_rich_plotext_and_the_model() -> None:
    allowed = {"textual", "rich", "textual_plotext", "plotext", "widgets"}
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith("widgets"):
            continue
        for imported in _imports(name, path):
            top = imported.split(".")[0]
            if top == "monotui":
                # The model, and the one sanitiser of outside text (pure standard library).
                ok = imported in ("monotui.model", "monotui.outside_text") or imported.startswith(
                    "monotui.model."
                )
            else:
                ok = top in allowed or top in sys.stdlib_module_names or top == "__future__"
            if not ok:
                offenders.append(f"{name}: {imported}")
    assert offenders == [], (
        f"widgets may import only textual, rich, plotext, the model, outside_text: {offenders}"
    )


def test_the_core_imports_no_widget_and_the_sim_is_not_a_production_path() -> None:
    graph = _graph()
    offenders = [
        f"{name} -> {target}"
        for name in _core()
        for target in graph[name]
        if target.startswith("widgets")
        or (
            target.startswith("monotui.sim")
            # the demo, and the demo host that serves it, are the sim's only users
            and not name.startswith(("monotui.sim", "monotui.commands.demo", "monotui.serve"))
        )
    ]
    assert offenders == []


def test_no_import_circle_between_project_modules() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], f"import circles: {cycles}"


def test_the_cycle_finder_finds_a_circle() -> None:
    # The test above must be able to fail.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


IMPORT_NAMES = {"pyyaml": "yaml", "prometheus-api-client": "prometheus_api_client"}
"""Distribution name -> import name, where they differ."""


def _declared() -> set[str]:
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        dist = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()
        names.add(IMPORT_NAMES.get(dist, dist.replace("-", "_")))
    return names


def test_every_third_party_import_of_the_package_is_a_declared_dependency() -> None:
    declared = _declared()
    missing = sorted(
        f"{name}: {imported}"
        for name, path in MODULES.items()
        for imported in _imports(name, path)
        if (top := imported.split(".")[0]) not in declared
        and top not in sys.stdlib_module_names
        and top not in (*PACKAGES, "__future__")
    )
    assert missing == [], f"imported but not in [project] dependencies: {missing}"
