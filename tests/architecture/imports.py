"""The import graph of ``src/spendcast`` and ``bench/``, read from the source with ``ast``
(nothing imported).

Every ``import`` and ``from ... import`` counts, at module level and inside functions alike (a
function-level import is still a dependency), except those under ``if TYPE_CHECKING:``, which
never run. ``from package import name`` is an edge to ``package.name`` when that is a module,
to ``package`` otherwise; the implicit import of parent packages is not an edge.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = "spendcast"
# Each package that can be read, with the directory its module names are relative to.
ROOTS = {PACKAGE: SRC, "bench": ROOT}
WITH_BENCH = (PACKAGE, "bench")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    imports: frozenset[str]  # every module imported, absolute (inside spendcast or not)


def module_name(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)  # the ``else`` of ``if TYPE_CHECKING`` does run
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _imported(name: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the module's own package
        package = name.split(".") if is_package else name.split(".")[:-1]
        anchor = package[: len(package) - node.level + 1]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


@cache
def modules(packages: tuple[str, ...] = (PACKAGE,)) -> dict[str, Module]:
    """The modules of ``packages`` (spendcast alone unless told; ``WITH_BENCH`` adds bench/)."""
    found: dict[str, Module] = {}
    for package in packages:
        found |= _read(package, ROOTS[package])
    return found


def _read(package: str, root: Path) -> dict[str, Module]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        name = module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = [
            target
            for node in _import_nodes(tree)
            for target in _imported(name, path.name == "__init__.py", node)
        ]
        found[name] = Module(name, path, frozenset(names))
    return found


@cache
def graph(packages: tuple[str, ...] = (PACKAGE,)) -> dict[str, frozenset[str]]:
    """Module -> the modules of ``packages`` it imports (``from pkg import sub``: ``pkg.sub``)."""
    known = modules(packages)
    edges = {}
    for module in known.values():
        targets = {t for t in module.imports if t in known}
        # ``from pkg import sub`` lists both ``pkg`` and ``pkg.sub``: keep the submodule.
        targets -= {t for t in targets if any(o.startswith(f"{t}.") for o in targets)}
        edges[module.name] = frozenset(targets - {module.name})
    return edges


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")
