"""``CachedState`` stays the one code path that changes the in-memory caches (issue #8)."""

import ast
from pathlib import Path

import pinbase

SOURCE = Path(pinbase.__file__).parent
OWNER = SOURCE / "services" / "state.py"

CACHES = {"directory", "telemetry", "properties", "oauth"}
"""Names the caches go by, as attributes (``self._directory``, ``services.directory``) or
variables."""
MUTATORS = {
    "add_device",
    "remove_device",
    "add_template",
    "add_organization",
    "remove_organization",
    "add_oauth_client",
    "remove_oauth_client",
    "disown",
    "forget",
    "forget_value",
    "forget_client",
    "forget_organization",
    "learn",
    "reload",
    "forget_all",
}
"""The cache methods that change state; only ``CachedState.apply`` may call them."""


def _receiver(node: ast.expr) -> str | None:
    """The last name of a call's receiver: ``directory`` for ``self._directory.add_device``."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_")
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_")
    return None


def test_only_the_state_owner_changes_the_caches() -> None:
    """No module but ``services/state.py`` calls a mutating method of a cache."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        if path == OWNER:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
                and _receiver(node.func.value) in CACHES
            ):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno} {node.func.attr}")
    assert offenders == []
