"""The legacy server's history files, read without I/O (legacy-import.md §3).

Theory of operation. The legacy reporting worker appended one 16-byte record per finished
bucket to ``data/<user folder>/history_<dashId>-<deviceId>_<t><pin>_<granularity>.bin``: the
bucket's average as a big-endian float64, then the bucket's start as a big-endian int64 of Unix
milliseconds (§3.1). ``read_records`` turns a file's bytes into a clean series under the reader
rules of §3.1 (tail dropped, offset retried, sorted, last duplicate kept, NaN dropped) and says
what it repaired; ``merge_by_priority`` builds one series out of the raw, minute, hourly and daily
series of a pin (§3.3); ``convert`` turns a legacy number or text into a value of the target
datastream's type.
"""

import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from pinbase.domain.datastreams import DataType
from pinbase.domain.value_types import Value

RECORD = struct.Struct(">dq")
"""One record: the bucket average (float64) and the bucket start (int64 ms), big-endian (§3.1)."""

EARLIEST_TS = 1_388_534_400_000
"""2014-01-01T00:00Z: the legacy server did not exist before; an older stamp is garbage (§3.1)."""

FUTURE_SLACK_MS = 86_400_000
"""A stamp may lie up to one day past "now" (clock skew) before it counts as garbage (§3.1)."""

BAD_STAMPS_PERCENT = 1
"""More than 1 % misaligned or out-of-range stamps means the file is read at the wrong offset."""

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

LEGACY_APP = "Blynk"
"""The stock app's name: its users' reporting folder has no ``_<appName>`` suffix (§3.1)."""

_FILE_NAME = re.compile(r"history_(\d+)(?:-(\d+))?_([dva])(\d{1,3})_(minute|hourly|daily)\.bin")
"""§3.1's regex; a name without the device part is device 0 (0.20 to 0.36.4)."""

_CSV_NAME = re.compile(r"(\d+)_([dva])(\d{1,3})(?:-\d{4}-\d{2}-\d{2})?\.csv(\.gz)?")
"""A raw CSV log of a server up to 0.21.x (§3.4), rolled daily to ``…-YYYY-MM-DD.csv.gz``."""

_CSV_STAMP = re.compile(r"[0-9]{1,19}")
"""A raw log line's timestamp: ASCII digits that fit an int64 of milliseconds."""

_UNSAFE_FOLDER_CHARS = re.compile(r"[^A-Za-z0-9@._-]")
"""Fork AM replaces every other character of a reporting folder name with ``_`` (§3.1)."""


class Granularity(Enum):
    """A history file's bucket length; the value is the period in milliseconds."""

    MINUTE = 60_000
    HOURLY = 3_600_000
    DAILY = 86_400_000

    @property
    def suffix(self) -> str:
        """The word the file name ends with: ``minute``, ``hourly`` or ``daily``."""
        return self.name.lower()


class Source(Enum):
    """Where a point comes from, in the priority order of §3.3 (first wins)."""

    RAW = "raw"
    MINUTE = "minute"
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryFileName:
    """What a ``history_*.bin`` name says. ``has_device`` is False for the pre-0.36.5 name."""

    dash_id: int
    device_id: int
    pin_type: str
    pin: int
    granularity: Granularity
    has_device: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvFileName:
    """What a raw CSV log's name says (§3.4): the file names no device."""

    dash_id: int
    pin_type: str
    pin: int
    compressed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Records:
    """A file's series after the reader rules, and what was dropped to get it.

    ``points`` are (ts, value), sorted by ts, one per ts. ``skipped_bytes`` were dropped at
    the end (offset 0) or at the start (``shifted``); ``duplicates`` counts records replaced by
    a later one of the same ts.
    """

    points: tuple[tuple[int, float], ...]
    skipped_bytes: int = 0
    shifted: bool = False
    not_finite: int = 0
    bad_stamps: int = 0
    duplicates: int = 0


class UnreadableFile(ValueError):
    """The file is not a series of history records at either offset (§3.1)."""


def parse_file_name(name: str) -> HistoryFileName | None:
    """Read a history file name; None for any other file (temp files, CSV exports, logs)."""
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        return None
    dash, device, pin_type, pin, granularity = match.groups()
    return HistoryFileName(
        dash_id=int(dash),
        device_id=int(device) if device is not None else 0,
        pin_type=pin_type,
        pin=int(pin),
        granularity=Granularity[granularity.upper()],
        has_device=device is not None,
    )


def parse_csv_name(name: str) -> CsvFileName | None:
    """Read a raw CSV log name (§3.4); None for any other file."""
    match = _CSV_NAME.fullmatch(name)
    if match is None:
        return None
    dash, pin_type, pin, gz = match.groups()
    return CsvFileName(
        dash_id=int(dash), pin_type=pin_type, pin=int(pin), compressed=gz is not None
    )


def encode_record(value: float, ts: int) -> bytes:
    """One record as the legacy server appended it (tests and the spec's vectors)."""
    return RECORD.pack(value, ts)


def decode_records(data: bytes, *, offset: int = 0) -> list[tuple[int, float]]:
    """Every whole record from ``offset`` on, as (ts, value) in file order; a tail is ignored."""
    end = offset + (len(data) - offset) // RECORD.size * RECORD.size
    return [(ts, value) for value, ts in RECORD.iter_unpack(data[offset:end])]


def read_records(data: bytes, granularity: Granularity, *, now_ms: int) -> Records:
    """Apply §3.1's reader rules to a file's bytes.

    Read from offset 0; when more than 1 % of the stamps are misaligned or outside
    [2014-01-01, now + 1 day], read again from ``len(data) % 16`` (the weekly trim copies whole
    records from the end), and give up when that is no better. The few bad stamps a good file
    may hold, NaN and infinities are dropped; the rest is sorted, the last of equal stamps kept.

    Raises:
        UnreadableFile: neither offset gives a plausible series.
    """
    tail = len(data) % RECORD.size
    records = decode_records(data)
    shifted = False
    if _too_many_bad(records, granularity, now_ms):
        if tail == 0:
            raise UnreadableFile("more than 1% of the timestamps are implausible")
        records = decode_records(data, offset=tail)
        shifted = True
        if _too_many_bad(records, granularity, now_ms):
            raise UnreadableFile("more than 1% of the timestamps are implausible at either offset")
    kept: dict[int, float] = {}
    not_finite = bad = duplicates = 0
    for ts, value in records:
        if not _plausible(ts, granularity, now_ms):
            bad += 1
        elif not math.isfinite(value):
            not_finite += 1
        else:
            if ts in kept:
                duplicates += 1
            kept[ts] = value  # the later record of a stamp wins
    return Records(
        points=tuple(sorted(kept.items())),
        skipped_bytes=tail,
        shifted=shifted,
        not_finite=not_finite,
        bad_stamps=bad,
        duplicates=duplicates,
    )


def _plausible(ts: int, granularity: Granularity, now_ms: int) -> bool:
    return ts % granularity.value == 0 and EARLIEST_TS <= ts <= now_ms + FUTURE_SLACK_MS


def _too_many_bad(records: Sequence[tuple[int, float]], granularity: Granularity, now: int) -> bool:
    bad = sum(1 for ts, _ in records if not _plausible(ts, granularity, now))
    return bad * 100 > len(records) * BAD_STAMPS_PERCENT


def merge_by_priority(
    series: Iterable[tuple[Source, Sequence[tuple[int, float | str]]]],
) -> list[tuple[int, float | str, Source]]:
    """One series out of candidate series given in priority order (§3.3).

    A series contributes only its points strictly before the earliest stamp of every series
    before it; the result is sorted by stamp. Each series must hold one point per stamp.
    """
    taken: list[tuple[int, float | str, Source]] = []
    earliest: int | None = None
    for source, points in series:
        kept = [(ts, value, source) for ts, value in points if earliest is None or ts < earliest]
        taken.extend(kept)
        if points:
            first = min(ts for ts, _ in points)
            earliest = first if earliest is None else min(earliest, first)
    taken.sort(key=lambda point: point[0])
    return taken


def convert(kind: DataType, value: float | str) -> Value | None:
    """A legacy number (a bucket average or raw double) or text as a value of type ``kind``.

    None when it has no such value: text for a numeric type, anything for LOCATION, an integer
    outside 32 bits. INT and ENUM round half up to an integer (an average of integer writes
    need not be one); BOOL is true from 0.5 up (most of the bucket was on); STRING takes text as
    it is and writes a whole number without ``.0``, as a device sending ``7`` did.
    """
    if kind is DataType.LOCATION:
        return None
    if isinstance(value, str):
        if kind is DataType.STRING:
            return value
        return None
    if not math.isfinite(value):
        return None
    if kind is DataType.DOUBLE:
        return value
    if kind is DataType.STRING:
        return number_text(value)
    if kind is DataType.BOOL:
        return value >= 0.5
    rounded = math.floor(value + 0.5)  # half up: Python's round() would make 2.5 into 2
    if not INT32_MIN <= rounded <= INT32_MAX:
        return None
    return rounded


def number_text(value: float) -> str:
    """The text a device most likely sent for ``value``: ``7`` for 7.0, ``21.5`` for 21.5."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def parse_csv_line(line: str) -> tuple[int, float | str] | None:
    """One ``value,timestamp_ms`` line of a raw CSV log (§3.4); None when it is not one.

    The value may itself hold commas (a string write), so the stamp is after the last one.
    A value that reads as a finite number is a number, as the legacy server stored it.
    """
    text, comma, stamp = line.strip().rpartition(",")
    if not comma or not _CSV_STAMP.fullmatch(stamp):  # str.isdigit() takes "²", int() not
        return None
    try:
        number = float(text)
    except ValueError:
        return (int(stamp), text)
    return (int(stamp), number if math.isfinite(number) else text)


def sanitize_folder_name(name: str) -> str:
    """Fork AM's ``sanitizeForFilesystem``: every character outside ``[A-Za-z0-9@._-]`` is ``_``."""
    return _UNSAFE_FOLDER_CHARS.sub("_", name)


def user_folder_names(email: str, app_name: str) -> tuple[str, ...]:
    """The reporting folder names a user may have, most specific first, lower-cased (§3.1).

    ``<email>`` for the stock app, else ``<email>_<appName>`` (0.23.1+) and ``<email>`` (older
    servers used it for every app); each also in fork AM's sanitized form.
    """
    exact = email if app_name == LEGACY_APP else f"{email}_{app_name}"
    names = [exact, sanitize_folder_name(exact), email, sanitize_folder_name(email)]
    unique: list[str] = []
    for name in names:
        if name.lower() not in unique:
            unique.append(name.lower())
    return tuple(unique)


def resolve_folder(
    folder_name: str, users: Iterable[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The users (email, appName) whose reporting folder ``folder_name`` may be, best first.

    A name may fit several users (an old server's ``<email>`` folder held every app of the
    email); the caller takes the first that owns a file's dashboard. Case is ignored.
    """
    wanted = folder_name.lower()
    ranked: list[tuple[int, tuple[str, str]]] = []
    for user in users:
        names = user_folder_names(*user)
        if wanted in names:
            ranked.append((names.index(wanted), user))
    ranked.sort(key=lambda item: (item[0], item[1][1] != LEGACY_APP, item[1]))
    return tuple(user for _, user in ranked)
