"""The import graph: no circles, and every module imports only its own layer or those below.

segenv (the env) never imports the learners; in the learners (``segenv_agents``, folder
``agents/``) the layers are, top to bottom: the command line → suites, run comparison and
episode pictures → the registry → learners and baselines → ``common``. Lazy imports inside
functions count too: they are imports all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"segenv": ROOT / "segenv", "segenv_agents": ROOT / "agents"}

LEARNER_LAYERS: tuple[tuple[str, ...], ...] = (
    ("common",),
    ("a3c", "mecca", "ppo", "sb3", "supervised", "coarse", "graphcut", "scripted"),
    ("registry",),
    ("compare", "episode_render", "suites"),
    ("cli",),
)
"""``segenv_agents`` submodules by layer, bottom first; a module may import its layer or below."""


def modules() -> dict[str, Path]:
    """Dotted module name → file, for both packages."""
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _imported(
    module: str, node: ast.Import | ast.ImportFrom, is_package: bool, known: Mapping[str, Path]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [
            f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix
            for alias in node.names
        ]
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def import_graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports (at the top or inside functions)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {
            target
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for target in _imported(module, node, path.name == "__init__.py", known)
        }
    return graph


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    """The layer of a ``segenv_agents`` submodule (None for the package itself)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    for layer, names in enumerate(LEARNER_LAYERS):
        if parts[1] in names:
            return layer
    raise AssertionError(f"{module} is in no layer; add it to LEARNER_LAYERS")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_circle(graph):
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_env_never_imports_the_learners(graph):
    upward = [
        (module, target)
        for module, targets in graph.items()
        if module.split(".")[0] == "segenv"
        for target in targets
        if target.startswith("segenv_agents")
    ]
    assert upward == []


def test_learner_modules_import_only_their_layer_or_below(graph):
    upward = []
    for module, targets in graph.items():
        if not module.startswith("segenv_agents."):
            continue
        own = layer_of(module)
        for target in targets:
            theirs = layer_of(target) if target.startswith("segenv_agents.") else None
            if own is not None and theirs is not None and theirs > own:
                upward.append((module, target))
    assert upward == []
