"""The import rules of the package, read from the source: imports run one way only.

Every ``import`` and ``from ... import`` of every module under ``stance/`` counts, those inside
functions (lazy imports) included. Two rules:

- no import cycles between modules;
- the CLI is the top: nothing imports ``stance.cli`` (but the CLI itself and ``python -m stance``),
  and only the CLI imports the recipes (``stance.recipes``), besides the recipes themselves.

A name imported from a package (``from stance.models import inference``) counts as an import of the
submodule when there is one, else of the package's ``__init__``. A module importing a submodule
does not count as importing its parent package's ``__init__``, though Python runs it: that edge is
the package's own business, and counting it would flag every package whose ``__init__`` re-exports
its parts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stance"


def module_name(path: Path) -> str:
    parts = ["stance", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The module of ours that ``name`` (dotted) refers to: itself, or the nearest package above it."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """The modules of ours that ``module`` imports, anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from package import submodule`` imports the submodule; ``from module import name`` the module.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = resolve(target) if target.split(".")[0] == "stance" else None
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_reader_sees_the_whole_package():
    # The rules are only as good as the graph: it must hold the layers the rules speak of.
    assert {"stance.recipes", "stance.recipes.training", "stance.evaluate", "stance.io", "stance.models.inference"} <= set(GRAPH)
    assert "stance.recipes.training" in GRAPH["stance.recipes.experiment"]
    assert "stance.io" in GRAPH["stance.predict"]  # a lazy or top-level import, read either way


def test_no_module_imports_in_a_cycle():
    cycles = find_cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(cycle) for cycle in cycles)


def test_nothing_below_the_cli_imports_it():
    offenders = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() for target in targets
                       if is_within(target, "stance.cli") and not is_within(module, "stance.cli")
                       and module != "stance.__main__")
    assert not offenders, offenders


def test_only_the_cli_imports_the_recipes():
    offenders = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() for target in targets
                       if is_within(target, "stance.recipes")
                       and not (is_within(module, "stance.recipes") or is_within(module, "stance.cli")))
    assert not offenders, offenders


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
])
def test_cycle_finder_on_hand_made_graphs(graph, expected):
    assert sorted(find_cycles(graph)) == expected


def test_lazy_imports_inside_functions_are_read(tmp_path, monkeypatch):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from stance.recipes import train\n    import stance.cli\n"
                     "    from stance.models import inference\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "stance.probe", probe)
    assert imports_of("stance.probe") == {"stance.recipes", "stance.cli", "stance.models.inference"}


def test_every_public_name_is_importable_from_stance():
    import stance

    missing = [name for name in stance.__all__ if getattr(stance, name, None) is None]
    assert not missing, missing
    # The lazy map points at the modules that own the names now, not at a re-export elsewhere.
    assert stance.Evaluation.__module__ == "stance.evaluate.evaluation"
    assert stance.run_experiment.__module__ == "stance.recipes.experiment"
