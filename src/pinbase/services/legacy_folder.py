"""Reading a legacy server's data folder (legacy-import.md §1.2, §1.3): the profile files, their
backups, and which pins have history files. Read-only: nothing in FOLDER is ever written.

Blocking file reads; the CLI calls ``scan_folder`` before its event loop does anything else.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from pinbase.domain.errors import PinbaseError
from pinbase.domain.legacy_profiles import (
    STOCK_APP,
    LegacyFormatError,
    ProfileFile,
    backup_candidates,
    choose_profiles,
    decode_profile,
    is_profile_name,
)
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_templates import HistoryPin

HISTORY_FILE = re.compile(r"^history_(\d+)(?:-(\d+))?_([dva])(\d{1,3})_(minute|hourly|daily)\.bin$")
"""§3.1's file name; no device part means device 0."""

MAX_PROFILE_BYTES = 64 * 1024 * 1024
"""A profile is one JSON line; the largest real ones are a few MB. Bigger is not a profile."""


class LegacyFolderError(PinbaseError):
    """FOLDER is not a legacy data folder; the message is the one-line refusal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderScan:
    """The chosen profiles, what was noticed while reading, and the pins with history."""

    profiles: tuple[ProfileFile, ...]
    issues: tuple[Issue, ...] = ()
    history: frozenset[HistoryPin] = field(default_factory=frozenset)


def scan_folder(folder: Path, *, include_deleted: bool = False) -> FolderScan:
    """Read every profile of ``folder`` (and ``deleted/`` with ``include_deleted``).

    Raises:
        LegacyFolderError: not a directory, or no ``*.user`` file in it.
    """
    if not folder.is_dir():
        raise LegacyFolderError(f"{folder} is not a directory")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and is_profile_name(p.name))
    if include_deleted and (folder / "deleted").is_dir():
        paths += sorted(
            p for p in (folder / "deleted").iterdir() if p.is_file() and is_profile_name(p.name)
        )
    if not paths:
        raise LegacyFolderError(
            f"{folder} holds no legacy profile (*.user): name the folder the legacy server "
            "ran with -dataFolder (often /data or /tmp/blynk)"
        )
    issues: list[Issue] = []
    decoded: list[ProfileFile] = []
    for path in paths:
        relative = path.relative_to(folder).as_posix()
        failures: list[Issue] = []
        profile = _read(path, relative, failures)
        if profile is None:
            profile = _from_backup(folder, path.name, relative, failures, issues)
        if profile is None:
            issues.extend(failures)
        else:
            decoded.append(profile)
    chosen, duplicates = choose_profiles(decoded)
    issues.extend(duplicates)
    return FolderScan(
        profiles=tuple(chosen), issues=tuple(issues), history=_history_pins(folder, chosen)
    )


def _read(path: Path, relative: str, issues: list[Issue]) -> ProfileFile | None:
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise LegacyFormatError("larger than any profile")
        return decode_profile(path.read_bytes().decode("utf-8"), path=relative)
    except (OSError, UnicodeDecodeError, LegacyFormatError) as error:
        issues.append(Issue(code="PROFILE_UNREADABLE", subject=relative, reason=str(error)))
        return None


def _from_backup(
    folder: Path, name: str, relative: str, failures: list[Issue], issues: list[Issue]
) -> ProfileFile | None:
    """The newest readable ``backup/`` copy of a file that failed to parse (§1.3); the
    failure becomes the reason of a ``PROFILE_FROM_BACKUP`` issue."""
    backup = folder / "backup"
    if not backup.is_dir():
        return None
    listed = [(p.name, p.stat().st_mtime) for p in backup.iterdir() if p.is_file()]
    for candidate in backup_candidates(name, listed):
        copy = _read(backup / candidate, f"backup/{candidate}", [])
        if copy is not None:
            issues.append(
                Issue(
                    code="PROFILE_FROM_BACKUP",
                    subject=relative,
                    reason=f"{failures[0].reason}; its newest backup backup/{candidate} was used",
                )
            )
            return copy
    return None


def _history_pins(folder: Path, profiles: list[ProfileFile]) -> frozenset[HistoryPin]:
    """(email, app, dash, device, kind, pin) of every history file of a known user (§3.1)."""
    data = folder / "data"
    if not data.is_dir():
        return frozenset()
    owners: dict[str, tuple[str, str]] = {}
    for profile in profiles:
        if profile.app_name == STOCK_APP:
            owners.setdefault(profile.email, profile.key)
        owners[f"{profile.email}_{profile.app_name}".lower()] = profile.key
    pins: set[HistoryPin] = set()
    for user_dir in data.iterdir():
        owner = owners.get(user_dir.name.lower())
        if owner is None or not user_dir.is_dir():
            continue
        for file in user_dir.iterdir():
            match = HISTORY_FILE.fullmatch(file.name)
            if match is not None:
                dash, device, kind, pin, _ = match.groups()
                pins.add((*owner, int(dash), int(device or 0), kind, int(pin)))
    return frozenset(pins)
