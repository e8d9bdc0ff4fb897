"""Upgrade safety: the package uses no private internals of Airflow, requests, urllib3 or httpx, except the places
listed in :data:`ALLOWED`, each with the reason it is needed.

An AST scan of every module of ``airflow_provider_feishu_corehr`` (``testing/`` included) finds:

* an underscore attribute (``x._y``, not a dunder) of a name imported from those packages or of an object derived
  from one (assigned from it, a parameter annotated with its type, ``super()`` in a subclass of one of its classes);
* ``getattr`` / ``setattr`` / ``hasattr`` / ``delattr`` with an underscore name the package itself never defines;
* an import of an underscore module or name from those packages (``from airflow.x._y import z``,
  ``from airflow.models import _z``);
* ``__wrapped__`` (reaching under a decorator of someone else's function) and ``signal.signal`` (process-wide
  handlers: Airflow's own task runner installs them);
* in a subclass of one of their classes: a method or attribute that shadows one of the base's underscore names,
  or an underscore name read from ``self`` that the package never defines (so it is the base's);
* a subclass of one of their classes that is not a documented base for subclassing (:data:`DOCUMENTED_BASES`), or
  of a class given at run time.

The test fails when a place appears that is not listed, and when a listed place is gone (so the list stays true).
A second test does the same for the Airflow modules the package imports (:data:`PUBLIC_AIRFLOW_MODULES`).
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_feishu_corehr

PACKAGE = Path(airflow_provider_feishu_corehr.__file__).resolve().parent
OURS = "airflow_provider_feishu_corehr"
EXTERNAL = ("airflow", "requests", "urllib3", "httpx")

DOCUMENTED_BASES = frozenset(
    {
        # Airflow: the classes the public interface documents for subclassing by providers
        "airflow.providers.common.compat.sdk.BaseOperator",
        "airflow.providers.common.compat.sdk.BaseSensorOperator",
        "airflow.providers.common.compat.sdk.BaseHook",
        "airflow.providers.common.compat.sdk.BaseOperatorLink",
        "airflow.providers.common.compat.sdk.AirflowException",
        "airflow.providers.common.compat.sdk.AirflowFailException",
        "airflow.sdk.BaseOperator",
        "airflow.sdk.BaseSensorOperator",
        "airflow.sdk.BaseHook",
        "airflow.triggers.base.BaseTrigger",
        "airflow.triggers.base.BaseEventTrigger",
        "airflow.triggers.shared_stream.SharedStreamProducer",
        # requests: "Transport Adapters" in the advanced-usage docs
        "requests.adapters.HTTPAdapter",
    }
)

# (module path under the package, what) -> why. The lead prunes this list as the places go.
ALLOWED: dict[tuple[str, str], str] = {
    ("client/cutoff.py", "class Watched(<a class given at run time>)"): (
        "the header-phase cut of a sync attempt: a subclass of the urllib3 connection class of the pool requests "
        "picked, overriding the public getresponse to hand its socket to the attempt's watchdog; no documented "
        "route bounds the status line and headers as a whole; pinned by tests/client/test_cutoff.py"
    ),
    ("operators/sigint.py", "signal.signal"): (
        "SIGINT in the task process is a stop Airflow does not signal (it resets SIGINT to SIG_DFL): routed to the "
        "batch's on_kill while a batch runs in the main thread, the previous handler restored after"
    ),
    ("operators/batch.py", "OffboardingOperator: shadows the base class's _do_render_template_fields"): (
        "privacy mode hashes the rendered template fields before Airflow stores them: a mapped task is rendered "
        "through this method only (MappedOperator.render_template_fields never calls the public "
        "render_template_fields: it calls unmapped_task._do_render_template_fields), on 2.11 and 3.3; pinned on both "
        "lanes by tests/example_dags/test_privacy_scan.py (the mapped example's stored rendered fields hold no value)"
    ),
    ("operators/batch.py", "OffboardingOperator: super()._do_render_template_fields"): (
        "the override above runs Airflow's own rendering first"
    ),
    ("testing/cli.py", "signal.signal"): (
        "the emulator's own command-line process (never inside Airflow) stops cleanly on SIGTERM and SIGINT"
    ),
    ("triggers/event_memory.py", "getattr(store, '_by_name')"): (
        "a trigger shared by several assets gets a multi-asset state store whose documented accessors need an "
        "asset the trigger is never told; pinned by tests/triggers/test_event_memory.py"
    ),
    ("triggers/event_memory.py", "getattr(store, '_by_uri')"): (
        "the same multi-asset state store, for assets named by URI; pinned by tests/triggers/test_event_memory.py"
    ),
}

# Airflow modules the package may import: those the public-interface page lists.
PUBLIC_AIRFLOW_MODULES = frozenset(
    {
        "airflow.sdk",
        "airflow.providers.common.compat.sdk",
        "airflow.providers.common.compat.connection",
        "airflow.triggers.base",
        "airflow.triggers.shared_stream",
        "airflow.exceptions",
    }
)
# (module path under the package, imported Airflow module) -> why it is needed although not listed as public.
ALLOWED_AIRFLOW_IMPORTS: dict[tuple[str, str], str] = {
    ("hooks/masking.py", "airflow.sdk.log"): (
        "amask_secret, the async twin of mask_secret (the sync one blocks the triggerer's event loop), is not "
        "exported from airflow.sdk nor from common-compat; an ImportError falls back to mask_secret"
    ),
    ("testing/dags.py", "airflow.models"): (
        "DagBag, the loader Airflow's best-practices page documents for DAG tests (from airflow.models import "
        "DagBag), finds every DAG a file declares, unassigned @dag calls and with-DAG blocks included; test helper "
        "only, pinned by tests/testing/test_run_dag.py on both lanes"
    ),
    ("testing/dag_results.py", "airflow.models.xcom"): (
        "run_dag reports each task's return_value XCom after dag.test(); outside a task Airflow 3 has no public "
        "XCom read but its REST API (an api-server), so the ORM rows are read; pinned by tests/testing/test_run_dag.py"
    ),
    ("testing/dag_results.py", "airflow.utils.session"): (
        "create_session, the session those XCom rows are read in (Airflow 3's XComModel.get_many returns a query); "
        "test helper only, pinned by tests/testing/test_run_dag.py on both lanes"
    ),
}


def _private(name: str) -> bool:
    """``_x`` or ``__x``, not a dunder ``__x__``."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _external(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in EXTERNAL


@dataclass
class _Class:
    module: str
    name: str
    bases: list[str]  # dotted paths: external ("requests.adapters.HTTPAdapter"), ours, or "<run time>"
    node: ast.ClassDef


@dataclass
class _Module:
    path: str  # relative to the package, e.g. "client/sync_http.py"
    name: str  # dotted
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted path (external or ours)


def _modules(root: Path) -> list[_Module]:
    found = []
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        dotted = ".".join([root.name, *file.relative_to(root).with_suffix("").parts])
        dotted = dotted.removesuffix(".__init__")
        found.append(_Module(rel, dotted, ast.parse(file.read_text(encoding="utf-8"), filename=str(file))))
    return found


class Scanner:
    """Finds the places (module path, what) where ``root`` (a package folder) uses private internals.

    :param root: the package folder to scan.
    """

    def __init__(self, root: Path) -> None:
        self.modules = _modules(root)
        self.package = root.name
        self.found: set[tuple[str, str]] = set()
        self.airflow_imports: set[tuple[str, str]] = set()
        self.ours_private: set[str] = set()
        self.classes: dict[str, _Class] = {}
        for module in self.modules:
            self._index(module)

    # -- indexing ----------------------------------------------------------------------------------------------

    def _index(self, module: _Module) -> None:
        package_parts = module.name.split(".")
        if not module.path.endswith("__init__.py"):
            package_parts = package_parts[:-1]
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _external(alias.name) or alias.name.split(".")[0] == self.package:
                        local = alias.asname or alias.name.split(".")[0]
                        module.imports[local] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    source = ".".join(
                        package_parts[: len(package_parts) - node.level + 1] + ([source] if source else [])
                    )
                if _external(source) or source.split(".")[0] == self.package:
                    for alias in node.names:
                        module.imports[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _private(node.name):
                self.ours_private.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    self.ours_private.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                self.ours_private.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _private(node.target.id):
                self.ours_private.add(node.target.id)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                bases = [self._dotted(module, base, node) for base in node.bases]
                self.classes[f"{module.name}.{node.name}"] = _Class(
                    module.name, node.name, [b for b in bases if b], node
                )

    def _dotted(self, module: _Module, expr: ast.expr, where: ast.AST) -> str | None:
        """The dotted path of a base class expression, ``<run time>`` for a function's local, ``None`` for a
        builtin or standard-library class."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.insert(0, expr.attr)
            expr = expr.value
        if isinstance(expr, ast.Subscript):  # Generic[T]
            return None
        if not isinstance(expr, ast.Name):
            return "<run time>"
        if expr.id in module.imports:
            return ".".join([module.imports[expr.id], *parts])
        if any(isinstance(n, ast.ClassDef) and n.name == expr.id for n in module.tree.body):
            return f"{module.name}.{expr.id}"
        if self._is_local(module, expr.id, where):
            return "<run time>"
        return None

    @staticmethod
    def _is_local(module: _Module, name: str, where: ast.AST) -> bool:
        """Whether ``name`` is a parameter or a local of a function that encloses ``where``."""
        for function in ast.walk(module.tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not any(child is where for child in ast.walk(function)):
                continue
            args = function.args
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            if name in params:
                return True
        return False

    def _external_ancestors(self, dotted: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if dotted in seen:
            return []
        if _external(dotted) or dotted == "<run time>":
            return [dotted]
        info = self.classes.get(dotted)
        if info is None:  # a re-export: look the class up by name
            matches = [c for key, c in self.classes.items() if key.endswith("." + dotted.rsplit(".", 1)[-1])]
            info = matches[0] if len(matches) == 1 else None
        if info is None:
            return []
        return [a for base in info.bases for a in self._external_ancestors(base, seen | {dotted})]

    # -- scanning ----------------------------------------------------------------------------------------------

    def scan(self) -> set[tuple[str, str]]:
        """Scan every module; return the places found."""
        for module in self.modules:
            self._scan_imports(module)
            self._scan_module(module)
        for info in self.classes.values():
            self._scan_class(info)
        return self.found

    def _add(self, module: _Module, what: str) -> None:
        self.found.add((module.path, what))

    def _scan_imports(self, module: _Module) -> None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _external(alias.name):
                        if any(_private(part) for part in alias.name.split(".")):
                            self._add(module, f"import {alias.name}")
                        if alias.name.startswith("airflow."):
                            self.airflow_imports.add((module.path, alias.name))
            elif isinstance(node, ast.ImportFrom) and not node.level and _external(node.module):
                source = node.module or ""
                if any(_private(part) for part in source.split(".")):
                    self._add(module, f"from {source} import")
                for alias in node.names:
                    if _private(alias.name):
                        self._add(module, f"from {source} import {alias.name}")
                if source.startswith("airflow"):
                    self.airflow_imports.add((module.path, source))

    def _tainted_names(self, module: _Module, scope: ast.AST) -> set[str]:
        """Names in ``scope`` bound to something from the external packages: imports, assignments from them,
        parameters annotated with their types (flow-insensitive, to a fixed point)."""
        external = {name for name, dotted in module.imports.items() if _external(dotted)}
        tainted = set(external)
        changed = True
        while changed:
            changed = False
            for node in ast.walk(scope):
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    targets, value = [node.optional_vars], node.context_expr
                elif isinstance(node, ast.arg) and node.annotation is not None:
                    if self._mentions(node.annotation, tainted) and node.arg not in tainted:
                        tainted.add(node.arg)
                        changed = True
                    continue
                if isinstance(node, ast.AnnAssign) and self._mentions(node.annotation, tainted):
                    value = node.annotation
                if value is None or not self._rooted(value, tainted):
                    continue
                for target in targets:
                    names = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
                    for name in names:
                        key = ast.unparse(name)  # "session", or "self._client" for an attribute
                        if isinstance(name, ast.Name | ast.Attribute) and key not in tainted:
                            tainted.add(key)
                            changed = True
        return tainted

    @staticmethod
    def _mentions(expr: ast.expr, names: set[str]) -> bool:
        return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))

    def _rooted(self, expr: ast.expr, tainted: set[str]) -> bool:
        """Whether ``expr`` is derived from a tainted name or attribute (``session.get(...).raw``)."""
        while True:
            if isinstance(expr, ast.Name | ast.Attribute) and ast.unparse(expr) in tainted:
                return True
            if isinstance(expr, ast.Attribute | ast.Subscript | ast.Await):
                expr = expr.value
            elif isinstance(expr, ast.Call):
                expr = expr.func
            else:
                return False

    def _scan_module(self, module: _Module) -> None:
        tainted = self._tainted_names(module, module.tree)
        signal_names = {a.asname or a.name for n in ast.walk(module.tree) if isinstance(n, ast.Import) for a in n.names}
        signal_funcs = {
            a.asname or a.name
            for n in ast.walk(module.tree)
            if isinstance(n, ast.ImportFrom) and n.module == "signal"
            for a in n.names
            if a.name == "signal"
        }
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute):
                if node.attr == "__wrapped__" or (_private(node.attr) and self._rooted(node.value, tainted)):
                    self._add(module, f"{ast.unparse(node)}")
            elif isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "signal"
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "signal"
                    and "signal" in signal_names
                ) or (isinstance(func, ast.Name) and func.id in signal_funcs):
                    self._add(module, "signal.signal")
                if (
                    isinstance(func, ast.Name)
                    and func.id in ("getattr", "setattr", "hasattr", "delattr")
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)
                ):
                    name = node.args[1].value
                    target = node.args[0]
                    if name == "__wrapped__" or (
                        _private(name)
                        and (name not in self.ours_private or self._rooted(target, tainted))
                        and not (isinstance(target, ast.Name) and target.id in ("self", "cls"))
                    ):
                        self._add(module, f"{func.id}({ast.unparse(target)}, {name!r})")

    def _scan_class(self, info: _Class) -> None:
        module = next(m for m in self.modules if m.name == info.module)
        ancestors = [a for base in info.bases for a in self._external_ancestors(base)]
        if not ancestors:
            return
        for base in info.bases:
            for ancestor in self._external_ancestors(base):
                if ancestor == "<run time>":
                    self._add(module, f"class {info.name}(<a class given at run time>)")
                elif base == ancestor and ancestor not in DOCUMENTED_BASES:
                    self._add(module, f"class {info.name}({ancestor})")
        resolved = [cls for cls in (_resolve(a) for a in ancestors) if cls is not None]
        for node in ast.walk(info.node):
            name = None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node in info.node.body:
                name = node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                name = node.attr
                if _private(name) and isinstance(node.ctx, ast.Load) and name not in self.ours_private:
                    self._add(module, f"{info.name}: self.{name} (the base class's)")
                    continue
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "super"
                and _private(node.attr)
            ):
                if node.attr not in self.ours_private or any(hasattr(cls, node.attr) for cls in resolved):
                    self._add(module, f"{info.name}: super().{node.attr}")
                continue
            elif isinstance(node, ast.Assign) and node in info.node.body:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        name = target.id
            if name and _private(name) and any(hasattr(cls, name) for cls in resolved):
                self._add(module, f"{info.name}: shadows the base class's {name}")


def _resolve(dotted: str) -> Any:
    """The class at ``dotted`` (``module.Class``), or ``None`` when it cannot be imported on this lane."""
    if dotted == "<run time>":
        return None
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _report(found: set[tuple[str, str]], allowed: dict[tuple[str, str], str], kind: str) -> str:
    new = sorted(found - set(allowed))
    gone = sorted(set(allowed) - found)
    lines = []
    if new:
        lines.append(f"New places that use {kind} (remove them, or list them with the reason):")
        lines += [f"  {path}: {what}" for path, what in new]
    if gone:
        lines.append("Listed places that are gone (remove them from the list):")
        lines += [f"  {path}: {what}" for path, what in gone]
    return "\n".join(lines)


def test_no_private_internals_beyond_the_list() -> None:
    found = Scanner(PACKAGE).scan()
    assert found == set(ALLOWED), _report(found, ALLOWED, "private internals")


def test_every_airflow_module_imported_is_public_or_listed() -> None:
    scanner = Scanner(PACKAGE)
    scanner.scan()
    not_public = {(path, mod) for path, mod in scanner.airflow_imports if mod not in PUBLIC_AIRFLOW_MODULES}
    assert not_public == set(ALLOWED_AIRFLOW_IMPORTS), _report(
        not_public, ALLOWED_AIRFLOW_IMPORTS, "Airflow modules outside its public interface"
    )


def test_every_listed_place_says_why() -> None:
    for where, why in {**ALLOWED, **ALLOWED_AIRFLOW_IMPORTS}.items():
        assert len(why.split()) >= 5, f"{where}: say why it is needed"


# -- the scanner itself: it finds each pattern, and not our own private names ----------------------------------


def _scan(tmp_path: Path, files: dict[str, str]) -> set[tuple[str, str]]:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "__init__.py").touch()
    return Scanner(root).scan()


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("import requests\ns = requests.Session()\ns._private = 1\n", "s._private"),
        ("from urllib3 import PoolManager\nPoolManager._new_pool\n", "PoolManager._new_pool"),
        (
            "import httpx\nasync def f(client: httpx.AsyncClient):\n    return client._transport\n",
            "client._transport",
        ),
        (
            "def f(accessors):\n    return getattr(accessors, '_by_name', None)\n",
            "getattr(accessors, '_by_name')",
        ),
        (
            "from airflow.sdk import BaseSensorOperator\nBaseSensorOperator.execute.__wrapped__\n",
            "BaseSensorOperator.execute.__wrapped__",
        ),
        ("def f(g):\n    return getattr(g, '__wrapped__', g)\n", "getattr(g, '__wrapped__')"),
        ("from airflow.models._x import y\n", "from airflow.models._x import"),
        ("from airflow.models import _z\n", "from airflow.models import _z"),
        ("import signal\nsignal.signal(signal.SIGTERM, print)\n", "signal.signal"),
        (
            "def f(base):\n    class W(base):\n        pass\n    return W\n",
            "class W(<a class given at run time>)",
        ),
        ("from urllib3.connection import HTTPConnection\nclass C(HTTPConnection):\n    pass\n", None),
        (
            "from requests.adapters import HTTPAdapter\nclass A(HTTPAdapter):\n    def get(self):\n"
            "        return self._pool_connections\n",
            "A: self._pool_connections (the base class's)",
        ),
        (
            "from airflow.sdk import BaseHook\nclass H(BaseHook):\n    def f(self):\n"
            "        return super()._secret()\n",
            "H: super()._secret",
        ),
        (
            "from urllib3 import PoolManager\nclass P(PoolManager):\n    def _new_pool(self, *a, **k):\n"
            "        return None\n",
            "P: shadows the base class's _new_pool",
        ),
    ],
)
def test_the_scanner_finds(tmp_path: Path, code: str, what: str | None) -> None:
    found = _scan(tmp_path, {"mod.py": code})
    if what is None:  # an undocumented base: named with its path
        assert found == {("mod.py", "class C(urllib3.connection.HTTPConnection)")}
    else:
        assert ("mod.py", what) in found, found


def test_the_scanner_leaves_our_own_private_names_alone(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "_arguments.py": "def _check(x):\n    return x\n",
            "mod.py": (
                "import requests\n"
                "from pkg._arguments import _check\n"
                "from pkg import _arguments\n"
                "from requests.adapters import HTTPAdapter\n"
                "class Mine:\n"
                "    def __init__(self):\n"
                "        self._lock = None\n"
                "    def _run(self):\n"
                "        return self._lock, getattr(self, '_lock'), _arguments._check(1), _check(2)\n"
                "class Adapter(HTTPAdapter):\n"
                "    def __init__(self):\n"
                "        super().__init__()\n"
                "        self._mine = 1\n"
                "    def send(self, *a, **k):\n"
                "        return self._mine, super().send(*a, **k)\n"
                "m = Mine()\n"
                "m._lock\n"
                "getattr(m, '_run')\n"
                "requests.Session().__class__\n"
            ),
        },
    )
    assert found == set()
