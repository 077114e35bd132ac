"""Imports run one way: web → services → (realtime, jobs) → models → the core modules, and the
composition roots (the app, the worker, the command line) above them all. Every import in
the package counts, also those inside functions."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "microblog"

# lowest first; a unit may import its own layer's units and those below, never above
LAYERS: list[set[str]] = [
    {"settings", "limits", "clock", "logs", "security", "db", "infra", "metrics", "i18n", "mail",
     "lifecycle", "text", "errors", "ratelimit", "passwords"},
    {"models"},
    {"schemas"},
    {"realtime", "jobs", "search", "translate"},
    {"services"},
    {"web"},
    {"app", "worker", "cli", "cluster", "devservices", "seed", "testing", "testing_translators"},
]


def unit_of(module: str) -> str:
    """`microblog.services.posts` → services; `microblog.worker` → worker; the package
    itself (create_app) → app."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "app"


def is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()


def module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[tuple[str, str]]]:
    """unit → {(imported unit, where)} for every import between units."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_of(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from microblog import x`: x is a unit of its own, or a name of the app's
                targets = ([f"microblog.{a.name}" if is_module(a.name) else "microblog"
                            for a in node.names]
                           if node.module == "microblog" else [node.module])
            for target in targets:
                if target.split(".")[0] == "microblog":
                    a, b = unit_of(source), unit_of(target)
                    if a != b:
                        found[a].add((b, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"))
    return found


def layer(unit: str) -> int:
    for number, units in enumerate(LAYERS):
        if unit in units:
            return number
    raise AssertionError(f"microblog.{unit} is in no layer: add it to LAYERS")


def test_every_import_goes_down_the_layers() -> None:
    upward = [f"{where}: {a} imports {b}" for a, edges in imports().items()
              for b, where in edges if layer(b) > layer(a)]
    assert not upward, "\n".join(sorted(upward))


def test_no_cycles_between_units() -> None:
    graph = {a: {b for b, _ in edges} for a, edges in imports().items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)
