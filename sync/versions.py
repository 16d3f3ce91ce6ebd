"""The op upgrade chain: an old app's queued ops are upgraded, never dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.ops import CURRENT_SCHEMA_VERSION

Upgrader = Callable[[dict[str, Any]], dict[str, Any]]

# UPGRADERS[n] turns a version-n op into a version-(n+1) op. Today only version 1 exists.
UPGRADERS: dict[int, Upgrader] = {}


class TooOld(Exception):
    """The op's version predates the oldest one the chain can upgrade."""


class TooNew(Exception):
    """The op was written by an app newer than this server."""


def oldest_supported(upgraders: dict[int, Upgrader] | None = None) -> int:
    """Return the lowest version from which an unbroken chain reaches the current version."""
    chain = UPGRADERS if upgraders is None else upgraders
    version = CURRENT_SCHEMA_VERSION
    while version - 1 in chain:
        version -= 1
    return version


def upgrade(raw: dict[str, Any], upgraders: dict[int, Upgrader] | None = None) -> dict[str, Any]:
    """Return raw upgraded step by step to the current version; raise TooOld or TooNew."""
    chain = UPGRADERS if upgraders is None else upgraders
    version = raw["schema_version"]
    if version > CURRENT_SCHEMA_VERSION:
        raise TooNew(
            f"server older than app (op version {version}, server {CURRENT_SCHEMA_VERSION})"
        )
    oldest = oldest_supported(chain)
    if version < oldest:
        raise TooOld(
            f"op schema version {version} is older than the oldest supported version {oldest}; "
            "kept for the office"
        )
    op = dict(raw)
    while op["schema_version"] < CURRENT_SCHEMA_VERSION:
        step = op["schema_version"]
        op = chain[step](op)
        # An upgrader that forgets to bump the version would loop forever; make it bump.
        op["schema_version"] = step + 1
    return op
