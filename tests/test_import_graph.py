"""The rooms' import order and the absence of import circles, computed from the source.

Every ``import`` statement counts, also those inside functions and under ``TYPE_CHECKING``: a
lazy import is still an arrow, and a circle hidden by one still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "htdyn"

# The rooms in order: each imports only rooms listed before it (docs/architecture.md).
ORDER = ["shared", "config", "io", "analysis", "train", "watcher", "sweep", "plot", "demos", "cli"]
SHARED = {"errors", "xp", "activations", "runkeys", "blas", "_version", "datagen"}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _targets(mod: str, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = mod.split(".")
            if MODULES[mod].name != "__init__.py":
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            pkg = ".".join(base + ([node.module] if node.module else []))
        else:
            pkg = node.module or ""
        names = [f"{pkg}.{a.name}" if f"{pkg}.{a.name}" in MODULES else pkg for a in node.names]
    out = []
    for t in names:
        while t and t not in MODULES:
            t = t.rpartition(".")[0]
        if t.startswith("htdyn") and t != mod:
            out.append(t)
    return out


#: The only arrows back up: a result object's ``.plot()`` (SciPy's style) imports its figure when called, so
#: ``import htdyn.analysis`` loads no matplotlib and the drawing code stays in ``htdyn.plot``.  Listed by name so
#: that no other one creeps in.
PRESENTATION_HOOKS = {
    ("htdyn.analysis.bulkfit", "htdyn.plot.results"),  # MPFit.plot
    ("htdyn.analysis.powerlaw", "htdyn.plot.results"),  # PowerLawFit.plot
    ("htdyn.analysis.phases", "htdyn.plot.results"),  # PhaseResult.plot
}


def import_graph() -> dict[str, set[str]]:
    """Module -> the htdyn modules (or packages) it imports anywhere in its source."""
    graph = {}
    for mod, path in MODULES.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps.update(_targets(mod, node))
        graph[mod] = {d for d in deps if (mod, d) not in PRESENTATION_HOOKS}
    return graph


def room(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "top"
    return "shared" if parts[1] in SHARED else parts[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_circle_between_modules() -> None:
    # A package's __init__ re-exports its modules: an arrow into a package is not a circle's edge.
    graph = {m: {d for d in deps if MODULES[d].name != "__init__.py"}
             for m, deps in import_graph().items() if MODULES[m].name != "__init__.py"}
    assert _cycles(graph) == []


def test_rooms_import_only_rooms_before_them() -> None:
    rank = {r: i for i, r in enumerate(ORDER)}
    back = []
    for mod, deps in import_graph().items():
        a = room(mod)
        if a == "top":
            continue
        for d in deps:
            b = room(d)
            if b != "top" and b != a and rank[b] >= rank[a]:
                back.append(f"{mod} -> {d}")
    assert back == []


def test_every_room_is_declared() -> None:
    rooms = {room(m) for m in MODULES} - {"top"}
    assert rooms <= set(ORDER), rooms - set(ORDER)


def test_the_presentation_hooks_are_still_there() -> None:
    # an entry that no longer names a real import is stale: remove it rather than keep a blanket pass
    for mod, dep in PRESENTATION_HOOKS:
        tree = ast.parse(MODULES[mod].read_text())
        found = {t for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for t in _targets(mod, n)}
        assert dep in found, (mod, dep)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
