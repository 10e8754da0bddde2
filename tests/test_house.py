"""The house's structure: no import circles, and dependencies that run one way.

Every import counts, at module level or inside a function: a lazy import hides a circle from
Python, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("runtime", "models", "export", "headset_app")
# A package may import those to its right only: export -> models -> runtime.
MAY_IMPORT = {
    "runtime": {"runtime"},
    "models": {"models", "runtime"},
    "export": {"export", "models", "runtime"},
    "headset_app": {"headset_app", "runtime"},
}


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for p in (REPO / pkg).rglob("*.py"):
            parts = list(p.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(["stepdiff", *parts])] = p
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from stepdiff.runtime import contract` imports the module stepdiff.runtime.contract
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("stepdiff."):
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports_of(p, known) - {m} for m, p in known.items()}


def test_no_import_circles():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


def test_dependencies_run_one_way():
    wrong = []
    for m, deps in graph().items():
        pkg = m.split(".")[1]
        for d in deps:
            if d.split(".")[1] not in MAY_IMPORT[pkg]:
                wrong.append(f"{m} imports {d}")
    assert not wrong, "\n".join(sorted(wrong))
