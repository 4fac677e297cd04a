"""Names of imported things, reduced to Pinbase's rules (legacy-import.md §5.1, §5.2)."""

import re

from pinbase.domain.devices import MAX_DEVICE_NAME_CHARS
from pinbase.domain.users import NAME

_NAME = re.compile(NAME)


def reduce_name(text: str, allowed: str, *, limit: int) -> str:
    """``text`` with every character outside letters, digits and ``allowed`` made a space,
    spaces collapsed, cut to ``limit``."""
    kept = "".join(c if c.isalnum() or c in allowed else " " for c in text)
    return " ".join(kept.split())[:limit].strip()


def organization_name(legacy_name: str | None, email: str) -> str:
    """§5.1: the user's ``name``, else the e-mail with ``@`` as `` at ``, reduced to letters,
    digits, spaces, ``.``, ``-``, ``'``; 3-100 characters."""
    for source in (legacy_name, email.replace("@", " at ")):
        if source and "@" not in source:
            name = reduce_name(source, " .-'", limit=100)
            if len(name) >= 3:
                return name
    return "Legacy user"


def user_name(legacy_name: str | None, email: str) -> str:
    """§5.1: the legacy ``name`` if it passes DM rules, else the e-mail's local part reduced to
    letters."""
    if legacy_name and _NAME.fullmatch(legacy_name):
        return legacy_name
    local = "".join(c if c.isalpha() else " " for c in email.split("@")[0])
    return " ".join(local.split())[:50].strip() or "User"


def device_name(legacy_name: str | None) -> str:
    """§5.2: ``name`` or "New Device", reduced to DM §1.10 characters, ≤ 50."""
    name = reduce_name(legacy_name or "", " '-_", limit=MAX_DEVICE_NAME_CHARS)
    return name or "New Device"


def unique_name(name: str, taken: set[str], *, limit: int) -> str:
    """``name``, else ``name 2``, ``name 3``… (cut to ``limit``), not in ``taken``; added to it."""
    candidate, n = name, 2
    while candidate in taken:
        suffix = f" {n}"
        candidate = name[: limit - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate
