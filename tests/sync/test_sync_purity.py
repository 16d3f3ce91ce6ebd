"""The sync core imports only the standard library and itself: no Flask, no SQLAlchemy."""

import ast
import sys
from pathlib import Path

SYNC = Path(__file__).parents[2] / "sync"


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names.add(node.module)
    return names


def test_sync_modules_import_only_stdlib_and_sync():
    modules = sorted(SYNC.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for name in _imported(path):
            root = name.split(".")[0]
            assert root in sys.stdlib_module_names or root == "sync", f"{path.name} imports {name}"
