"""The domain rules import only the standard library: no Flask, no SQLAlchemy."""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).parents[2] / "server" / "domain"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module)
    return roots


def test_domain_modules_import_only_stdlib_and_each_other():
    modules = sorted(DOMAIN.glob("*.py"))
    assert len(modules) >= 6
    for path in modules:
        for name in _imported_roots(path):
            root = name.split(".")[0]
            ok = root in sys.stdlib_module_names or name.startswith("server.domain")
            assert ok, f"{path.name} imports {name}"
