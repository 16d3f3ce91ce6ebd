"""Every server module is placed in the architecture that the import contracts check.

The contracts in pyproject.toml ([tool.importlinter], run by scripts/test) name the modules
that hold domain logic and the modules that are views; a module named in neither would escape
the rule that logic never imports a view. This test makes a new module take a side.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Shared by every domain, each checked by its own contract or by being plain app setup.
SHARED = (
    "server.cli",
    "server.config",
    "server.demo",
    "server.errors",
    "server.extensions",
    "server.i18n",
    "server.db_types",
    "server.bulk",
    "server.db_pool",
    "server.tables",
    "server.wiring",
    "server.web",
    "server.domain",
    "server.migrations",
)


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            continue  # a package's docstring; its modules are what is placed
        names.append(".".join(parts))
    return names


def _covered(module: str, names: list[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def test_every_server_module_is_logic_a_view_or_shared():
    views_rule = next(c for n, c in _contracts().items() if n.startswith("No domain logic"))
    logic, views = views_rule["source_modules"], views_rule["forbidden_modules"]
    unplaced = [
        m for m in _modules() if not _covered(m, [*logic, *views]) and not _covered(m, SHARED)
    ]
    assert unplaced == [], "name these in the 'No domain logic imports a view' contract"
    both = [m for m in _modules() if _covered(m, logic) and _covered(m, views)]
    assert both == []


def test_every_domain_package_has_its_place_in_the_layers():
    layers = next(c for c in _contracts().values() if c["type"] == "layers")["layers"]
    packages = sorted(
        f"server.{p.name}"
        for p in (ROOT / "server").iterdir()
        if (p / "__init__.py").exists() and not _covered(f"server.{p.name}", SHARED)
    )
    assert sorted(set(layers) - {"server.wiring"}) == packages
