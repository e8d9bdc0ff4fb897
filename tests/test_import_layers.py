"""The package's import graph: no loops, and each package imports only the layers below it (docs/design.md).

Every ``import`` counts, at module level and inside functions (a function-level import that breaks a loop is
still a loop). Imports under ``if TYPE_CHECKING:`` run only for type checkers: they count for the layers between
packages, not for loops between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "airflow_provider_feishu_corehr"
NAME = PACKAGE.name

# What each top-level part of the package may import from the package (docs/design.md, "What may import what").
ALLOWED = {
    "client": set(),
    "testing": set(),
    "_arguments": {"client"},
    "status": {"client"},
    "hooks": {"client"},
    "operators": {"_arguments", "client", "hooks"},
    "triggers": {"client", "hooks", "status"},
    "sensors": {"_arguments", "client", "hooks", "status", "triggers"},
    "get_provider_info": {"", "hooks"},
    "": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """The package's modules ``module`` imports: (at run time, for type checkers only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    runtime: set[str] = set()
    typing: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            names = submodules or [base]
        else:
            continue
        found = {name for name in names if name in MODULES and name != module}
        (typing if id(node) in typing_only else runtime).update(found)
    return runtime, typing


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_loop_between_modules() -> None:
    assert _cycles({module: runtime for module, (runtime, _) in GRAPH.items()}) == []


def test_no_import_loop_between_packages() -> None:
    parts: dict[str, set[str]] = {}
    for module, (runtime, typing) in GRAPH.items():
        parts.setdefault(_part(module), set()).update(_part(m) for m in runtime | typing if _part(m) != _part(module))
    assert _cycles(parts) == []


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, (runtime, typing) in GRAPH.items()
        for imported in runtime | typing
        if _part(imported) != _part(module) and _part(imported) not in ALLOWED[_part(module)]
    )
    assert wrong == []


def test_the_graph_sees_the_package() -> None:
    assert f"{NAME}.operators.batch" in GRAPH[f"{NAME}.operators.revoke"][0]
    assert len(MODULES) > 50
