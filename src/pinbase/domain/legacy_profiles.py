"""Legacy profile files (``*.user``) as values: decoding and choosing one file per user.

legacy-import.md §1.3 and §1.4. A legacy server saved each user with its whole profile as one
JSON object in ``<email>.<appName>.user`` (``u_<name>.user`` before 0.19.0). This module reads
the text of such a file (the caller reads the bytes: no I/O here), derives the user key
(e-mail, appName) and, when several files claim the same key, keeps the newest.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pinbase.domain.legacy_report import Issue

STOCK_APP = "Blynk"
"""The appName of the stock legacy app; a null appName means it too (BS: U/AppNameUtil.java)."""

OLD_PREFIX = "u_"
"""Files of servers before 0.19.0 are ``u_<name>.user`` (§4)."""

SUFFIX = ".user"

BOM = "\ufeff"
"""A UTF-8 byte-order mark, left by hand-edited files (§1.4)."""


class LegacyFormatError(ValueError):
    """A legacy file that cannot be read as what it claims to be."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileFile:
    """One decoded ``.user`` file.

    ``email`` is lower-cased; ``data`` is the JSON user object as read (fields missing from it
    take their defaults where they are used, §1.4).
    """

    path: str
    email: str
    app_name: str
    data: Mapping[str, Any] = field(repr=False)

    @property
    def last_modified(self) -> int:
        """The user's ``lastModifiedTs`` (0 when absent)."""
        return moment(self.data.get("lastModifiedTs"))

    @property
    def key(self) -> tuple[str, str]:
        """The user key of §1.3: (lower-cased e-mail, appName)."""
        return (self.email, self.app_name)


def as_int(value: object, default: int = 0) -> int:
    """A JSON number as an int (``default`` for anything else, booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if isinstance(value, float) and not value.is_integer():
        return default
    return int(value)


MAX_MOMENT = 2**53
"""Milliseconds past this are no date (year 287,396): read as absent, never stored."""


def moment(value: object) -> int:
    """A JSON timestamp in ms, or 0 when absent, negative or absurd."""
    ms = as_int(value)
    return ms if 0 < ms < MAX_MOMENT else 0


def as_text(value: object) -> str | None:
    """A JSON string, or None for anything else and for ``""`` (Jackson omits empty strings)."""
    return value if isinstance(value, str) and value else None


def as_list(value: object) -> list[Any]:
    """A JSON array, or ``[]`` for anything else."""
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    """A JSON object, or ``{}`` for anything else."""
    return value if isinstance(value, dict) else {}


def is_profile_name(name: str) -> bool:
    """Whether a file name in FOLDER is a profile file (§1.3: ``*.user`` at depth 1)."""
    return name.endswith(SUFFIX) and len(name) > len(SUFFIX)


def key_from_file_name(name: str) -> tuple[str, str]:
    """The (e-mail, appName) a file name gives, the fallback of §1.3.

    ``u_<name>.user`` is the stock app; otherwise the name splits at the last dot (app ids
    contain no dots). A name without such a dot is taken as an e-mail of the stock app.
    """
    stem = name.removesuffix(SUFFIX)
    if stem.startswith(OLD_PREFIX):
        return (stem.removeprefix(OLD_PREFIX).lower(), STOCK_APP)
    email, dot, app = stem.rpartition(".")
    if not dot or "@" not in email or "@" in app:
        return (stem.lower(), STOCK_APP)
    return (email.lower(), app)


def decode_profile(text: str, *, path: str) -> ProfileFile:
    """Decode a profile file's text.

    The key comes from the JSON (``email``, else the pre-0.23.4 ``name``; ``appName``, else
    ``Blynk``), and from the file name (``path``'s last part) where the JSON lacks it.

    Raises:
        LegacyFormatError: not JSON, not an object, or no e-mail anywhere.
    """
    try:
        data = json.loads(text.removeprefix(BOM))
    except json.JSONDecodeError as error:
        raise LegacyFormatError(f"not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(data, dict):
        raise LegacyFormatError("not a JSON object")
    name_email, name_app = key_from_file_name(path.rsplit("/", 1)[-1])
    named = as_text(data.get("name"))
    email = as_text(data.get("email")) or (named if named and "@" in named else name_email)
    if "@" not in email:
        raise LegacyFormatError("no e-mail address in the file or its name")
    app = as_text(data.get("appName")) or (
        name_app if as_text(data.get("email")) is None else STOCK_APP
    )
    return ProfileFile(path=path, email=email.strip().lower(), app_name=app, data=data)


def choose_profiles(files: Iterable[ProfileFile]) -> tuple[list[ProfileFile], list[Issue]]:
    """One file per user key: the one with the larger ``lastModifiedTs`` (§1.3, §4 "0.19.0").

    Ties keep the newer naming (``<email>.<appName>.user``) over ``u_…``, then the first path
    in name order, so the choice does not depend on directory order.

    Returns:
        The chosen files in key order, and a ``PROFILE_DUPLICATE`` issue per file left out.
    """
    groups: dict[tuple[str, str], list[ProfileFile]] = {}
    for profile in files:
        groups.setdefault(profile.key, []).append(profile)
    chosen: list[ProfileFile] = []
    issues: list[Issue] = []
    for key in sorted(groups):
        ranked = sorted(groups[key], key=_rank)
        chosen.append(ranked[0])
        issues.extend(
            Issue(
                code="PROFILE_DUPLICATE",
                subject=other.path,
                reason=f"{ranked[0].path} is newer (lastModifiedTs) for the same user",
            )
            for other in ranked[1:]
        )
    return chosen, issues


def _rank(profile: ProfileFile) -> tuple[int, bool, str]:
    old = profile.path.rsplit("/", 1)[-1].startswith(OLD_PREFIX)
    return (-profile.last_modified, old, profile.path)


def backup_candidates(main_name: str, backups: Sequence[tuple[str, float]]) -> list[str]:
    """Backup file names for ``main_name``, newest first (§1.3: the newest by mtime whose name
    starts with the main file's name). ``backups`` pairs each ``backup/`` name with its mtime."""
    matching = [(mtime, name) for name, mtime in backups if name.startswith(main_name + ".")]
    return [name for _, name in sorted(matching, reverse=True)]
