"""The layers import one way (ARCHITECTURE.md): api and workers -> domain -> scoring, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each layer may not import: our outer layers, and for the pure scoring layer any I/O library.
FORBIDDEN = {
    "scoring": {"api", "domain", "workers", "cli", "devstack", "pymongo", "redis", "rq", "strawberry", "starlette"},
    "domain": {"api", "workers", "cli", "devstack", "strawberry", "starlette"},
    "api": {"workers", "cli", "devstack"},
    "workers": {"api", "cli", "devstack"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_outside_it_may(layer: str) -> None:
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[layer])
        for path in modules
        if imported_packages(path) & FORBIDDEN[layer]
    }
    assert wrong == {}


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from api.context import RequestContext\nimport redis.asyncio\n", encoding="utf-8")
    assert imported_packages(module) == {"api", "redis"}
