"""The firmware info tag (``blnkinf``) the Blynk library embeds in a binary, and how firmware
versions and build dates compare (device-lifecycle.md §1.2).

Layout: the ASCII bytes ``blnkinf``, a NUL, then ``key`` NUL ``value`` NUL pairs closed by one
more NUL. The parser follows the spec's Recommendation: the first match of ``blynk_tag.py``'s
pattern anywhere in the upload, split on NUL, pairs in any order, unknown keys kept.
"""

import re
from dataclasses import dataclass

TAG_PATTERN = re.compile(rb"blnkinf\x00[\w\s\.,:\-\(\)\x00]*?\x00\x00")
"""``blynk_tag.py``'s search pattern (tagtool:): the marker, then pair bytes up to two NULs."""

MAX_TAG_PAIRS = 64
"""Pairs kept from one tag: the C++ library writes about ten; a block of thousands is not a
firmware tag but a file that happens to match."""

MAX_TAG_TEXT = 128
"""Longest key or value kept: real ones (versions, dates, template ids) are a few characters."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BUILD = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) +(\d{4})(?: +(\d{1,2}):(\d{2}):(\d{2}))?")
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareTag:
    """The pairs of one tag, in file order; ``get`` reads one."""

    pairs: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if len(self.pairs) > MAX_TAG_PAIRS:
            raise ValueError(f"a firmware tag holds at most {MAX_TAG_PAIRS} pairs")

    def get(self, key: str) -> str | None:
        """The value of ``key`` (the first one when repeated), or None."""
        return next((value for name, value in self.pairs if name == key), None)

    @property
    def version(self) -> str | None:
        """The firmware version: ``mcu``, or ``ncp`` in Blynk.NCP builds."""
        return self.get("mcu") or self.get("ncp")

    @property
    def fw_type(self) -> str | None:
        """The firmware type (``BLYNK_FIRMWARE_TYPE``, by default the template id)."""
        return self.get("fw-type")

    @property
    def build(self) -> str | None:
        """The build date and time, normalised (``normalise_build``)."""
        build = self.get("build")
        return None if build is None else normalise_build(build)

    @property
    def library_version(self) -> str | None:
        """The Blynk library version (``blynk``, or ``ver`` in older and Linux builds)."""
        return self.get("blynk") or self.get("ver")


def find_tag(data: bytes) -> FirmwareTag | None:
    """The first ``blnkinf`` tag in ``data``, or None when the file has none."""
    found = TAG_PATTERN.search(data)
    if found is None:
        return None
    items = found.group()[len(b"blnkinf\x00") :].split(b"\x00")
    pairs: list[tuple[str, str]] = []
    for index in range(0, len(items) - 1, 2):
        key, value = items[index], items[index + 1]
        if not key or len(pairs) == MAX_TAG_PAIRS:
            break
        pairs.append((key.decode("ascii")[:MAX_TAG_TEXT], value.decode("ascii")[:MAX_TAG_TEXT]))
    return FirmwareTag(pairs=tuple(pairs))


def normalise_build(build: str) -> str:
    """A C ``__DATE__ " " __TIME__`` with the day as two digits: C pads days below 10 with a
    space (``Mar  5 2024``), the docs show a zero (``Mar 05 2024``); both become the latter.
    Text of another shape is only trimmed."""
    matched = _BUILD.fullmatch(build.strip())
    if matched is None:
        return build.strip()
    month, day, year, hour, minute, second = matched.groups()
    text = f"{month} {int(day):02d} {year}"
    return text if hour is None else f"{text} {int(hour):02d}:{minute}:{second}"


def build_key(build: str) -> tuple[int, int, int, int, int, int] | None:
    """A build date as a sortable ``(year, month, day, hour, minute, second)``; None for text
    that is not a C build date."""
    matched = _BUILD.fullmatch(build.strip())
    if matched is None or matched.group(1) not in _MONTHS:
        return None
    month, day, year, hour, minute, second = matched.groups()
    clock = (0, 0, 0) if hour is None else (int(hour), int(minute), int(second))
    return (int(year), _MONTHS.index(month) + 1, int(day), *clock)


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """A version as a sortable key: ``major.minor.patch`` (missing parts 0), then a release
    before any version with a suffix of the same numbers (``1.2.0-rc1`` < ``1.2.0``), suffixes
    in text order. Text that does not start with a number sorts below every version."""
    matched = _VERSION.fullmatch(version.strip())
    if matched is None:
        return (-1, -1, -1, 0, version)
    major, minor, patch, suffix = matched.groups()
    return (int(major), int(minor or 0), int(patch or 0), 0 if suffix else 1, suffix)


def is_lower_version(current: str | None, offered: str | None) -> bool:
    """Whether ``offered`` is a higher version than ``current`` (a device that reported none
    runs the library default ``0.0.0``, device-lifecycle.md §1.2)."""
    if offered is None:
        return False
    return version_key(current or "0.0.0") < version_key(offered)


def is_earlier_build(current: str | None, offered: str | None) -> bool:
    """Whether the device's build date is before the file's (no date on the device: earlier)."""
    offered_key = None if offered is None else build_key(offered)
    if offered_key is None:
        return False
    current_key = None if current is None else build_key(current)
    return current_key is None or current_key < offered_key


def is_other_build(current: str | None, offered: str | None) -> bool:
    """Whether the device's build date differs from the file's, after normalising both."""
    if offered is None:
        return False
    return current is None or normalise_build(current) != normalise_build(offered)
