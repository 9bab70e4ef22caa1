"""The docs describe the tree as it is: the module map (docs/architecture.md) lists exactly the package's modules."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_map_entries(page: str) -> list[str]:
    """The first token of each line in the first fenced block of docs/architecture.md."""
    block = re.search(r"```\n(.*?)```", page, re.DOTALL)
    assert block, "no fenced block in docs/architecture.md"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip()]


def top_level_entries(package: Path) -> set[str]:
    modules = {f"stance/{p.name}" for p in package.glob("*.py")}
    packages = {f"stance/{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    return modules | packages


def test_the_module_map_matches_the_tree():
    entries = module_map_entries((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert len(entries) == len(set(entries)), "an entry is listed twice"
    tree = top_level_entries(ROOT / "stance")
    assert set(entries) == tree, f"missing from the map: {sorted(tree - set(entries))}; not in the tree: {sorted(set(entries) - tree)}"

    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_the_test_command_that_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make test" in ci
