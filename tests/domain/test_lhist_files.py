"""The legacy history files read without I/O (legacy-import.md §3.1, §3.3, §3.4)."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinbase.domain.datastreams import DataType
from pinbase.domain.legacy_history_files import (
    EARLIEST_TS,
    CsvFileName,
    Granularity,
    HistoryFileName,
    Source,
    UnreadableFile,
    convert,
    decode_records,
    encode_record,
    merge_by_priority,
    number_text,
    parse_csv_line,
    parse_csv_name,
    parse_file_name,
    read_records,
    resolve_folder,
    sanitize_folder_name,
    user_folder_names,
)

NEW_YEAR = 1_609_459_200_000
"""2021-01-01T00:00Z."""
NOW = NEW_YEAR + 180 * 86_400_000
MINUTE = 60_000


def minute_file(*records: tuple[float, int]) -> bytes:
    """A file of records packed as the legacy server appended them."""
    return b"".join(struct.pack(">dq", value, ts) for value, ts in records)


def test_record_matches_the_spec_vector() -> None:
    """23.5 at 2021-01-01T00:00Z is the 16 bytes of §3.1, both ways."""
    record = bytes.fromhex("40 37 80 00 00 00 00 00 00 00 01 76 bb 3e 70 00")
    assert encode_record(23.5, NEW_YEAR) == record
    assert decode_records(record) == [(NEW_YEAR, 23.5)]


def test_negative_record_matches_the_second_vector() -> None:
    """-1.25 at 1609459260000 is the second vector of §6."""
    record = bytes.fromhex("bf f4 00 00 00 00 00 00 00 00 01 76 bb 3f 5a 60")
    assert decode_records(record) == [(1_609_459_260_000, -1.25)]


@given(
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False)), max_size=50)
)
def test_records_round_trip(records: list[tuple[int, float]]) -> None:
    """Any (ts, value) list packs and decodes back to itself."""
    data = b"".join(encode_record(value, ts) for ts, value in records)
    assert decode_records(data) == records


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "history_79780619-1_v5_minute.bin",
            HistoryFileName(
                dash_id=79780619,
                device_id=1,
                pin_type="v",
                pin=5,
                granularity=Granularity.MINUTE,
                has_device=True,
            ),
        ),
        (
            "history_10_v1_minute.bin",
            HistoryFileName(
                dash_id=10,
                device_id=0,
                pin_type="v",
                pin=1,
                granularity=Granularity.MINUTE,
                has_device=False,
            ),
        ),
        (
            "history_3-0_d13_hourly.bin",
            HistoryFileName(
                dash_id=3,
                device_id=0,
                pin_type="d",
                pin=13,
                granularity=Granularity.HOURLY,
                has_device=True,
            ),
        ),
        (
            "history_3-2_a255_daily.bin",
            HistoryFileName(
                dash_id=3,
                device_id=2,
                pin_type="a",
                pin=255,
                granularity=Granularity.DAILY,
                has_device=True,
            ),
        ),
    ],
)
def test_file_names_parse(name: str, expected: HistoryFileName) -> None:
    """Every §3.1 name shape parses; the old name without a device part is device 0."""
    assert parse_file_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "minute_temp.bin",
        "history_1-0_v1_weekly.bin",
        "history_1-0_x1_minute.bin",
        "history_1-0_v1000_minute.bin",
        "history_-1-0_v1_minute.bin",
        "history_1-0_v1_minute.bin.bak",
        "tokens_pool_temp.bin",
    ],
)
def test_other_files_are_not_history(name: str) -> None:
    """Temp files, backups and malformed names are not history files."""
    assert parse_file_name(name) is None


def test_granularity_periods_and_suffixes() -> None:
    """Each granularity is its period in ms and names its file suffix."""
    assert [(g.value, g.suffix) for g in Granularity] == [
        (60_000, "minute"),
        (3_600_000, "hourly"),
        (86_400_000, "daily"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20_v3.csv", CsvFileName(dash_id=20, pin_type="v", pin=3, compressed=False)),
        ("20_d7-2016-05-01.csv.gz", CsvFileName(dash_id=20, pin_type="d", pin=7, compressed=True)),
        ("export.csv.gz", None),
        ("20_v3.txt", None),
    ],
)
def test_csv_names_parse(name: str, expected: CsvFileName | None) -> None:
    """Raw logs and their daily rolls parse (§3.4); CSV exports are not raw logs."""
    assert parse_csv_name(name) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("21.5,1462060800000", (1_462_060_800_000, 21.5)),
        ("on,off,1462060800000\n", (1_462_060_800_000, "on,off")),
        ("nan,1462060800000", (1_462_060_800_000, "nan")),
        ("21.5", None),
        ("21.5,soon", None),
        ("21.5,\u00b2", None),
    ],
)
def test_csv_lines_parse(line: str, expected: tuple[int, float | str] | None) -> None:
    """A line is value,timestamp; the value may hold commas; a non-finite number stays text."""
    assert parse_csv_line(line) == expected


def test_reader_sorts_keeps_last_duplicate_and_drops_nan_and_tail() -> None:
    """Unsorted records are sorted, the later of equal stamps wins, NaN/inf and 7 tail bytes go."""
    data = minute_file(
        (3.0, NEW_YEAR + 2 * MINUTE),
        (1.0, NEW_YEAR),
        (math.nan, NEW_YEAR + 3 * MINUTE),
        (math.inf, NEW_YEAR + 4 * MINUTE),
        (9.0, NEW_YEAR + 2 * MINUTE),
    )
    records = read_records(data + b"\x01" * 7, Granularity.MINUTE, now_ms=NOW)
    assert records.points == ((NEW_YEAR, 1.0), (NEW_YEAR + 2 * MINUTE, 9.0))
    assert (records.skipped_bytes, records.shifted) == (7, False)
    assert (records.not_finite, records.duplicates, records.bad_stamps) == (2, 1, 0)


def test_reader_retries_at_the_offset_of_a_trimmed_file() -> None:
    """A file whose whole records start after a partial one is read from size mod 16."""
    good = minute_file(*[(float(n), NEW_YEAR + n * MINUTE) for n in range(20)])
    records = read_records(b"\xff" * 9 + good, Granularity.MINUTE, now_ms=NOW)
    assert records.shifted
    assert records.skipped_bytes == 9
    assert records.points == tuple((NEW_YEAR + n * MINUTE, float(n)) for n in range(20))


def test_reader_drops_a_few_bad_stamps_of_a_good_file() -> None:
    """One bad stamp in more than a hundred is dropped, the rest kept."""
    good = [(float(n), NEW_YEAR + n * MINUTE) for n in range(150)]
    data = minute_file(*good, (1.0, NEW_YEAR + 30_001))
    records = read_records(data, Granularity.MINUTE, now_ms=NOW)
    assert len(records.points) == 150
    assert records.bad_stamps == 1


@pytest.mark.parametrize(
    "bad_ts",
    [EARLIEST_TS - MINUTE, NOW + 2 * 86_400_000, NEW_YEAR + 1],
    ids=["before-2014", "future", "misaligned"],
)
def test_reader_rejects_implausible_files(bad_ts: int) -> None:
    """More than 1 % of stamps too old, too new or misaligned, at every offset: rejected."""
    data = minute_file((1.0, NEW_YEAR), (2.0, bad_ts))
    with pytest.raises(UnreadableFile):
        read_records(data, Granularity.MINUTE, now_ms=NOW)
    with pytest.raises(UnreadableFile):
        read_records(data + b"\0" * 3, Granularity.MINUTE, now_ms=NOW)


def test_reader_accepts_hourly_and_daily_alignment() -> None:
    """Hourly and daily stamps are checked against their own period."""
    assert read_records(minute_file((1.0, NEW_YEAR + 3_600_000)), Granularity.HOURLY, now_ms=NOW)
    with pytest.raises(UnreadableFile):
        read_records(minute_file((1.0, NEW_YEAR + 3_600_000)), Granularity.DAILY, now_ms=NOW)


def test_empty_file_is_an_empty_series() -> None:
    """An empty file reads as no points and nothing repaired."""
    assert read_records(b"", Granularity.DAILY, now_ms=NOW).points == ()


def test_priority_merge_takes_lower_sources_only_before_higher_ones() -> None:
    """Raw > minute > hourly > daily: each only strictly before all earlier-taken series."""
    hour, day = 3_600_000, 86_400_000
    merged = merge_by_priority(
        [
            (Source.RAW, [(NEW_YEAR + 11 * hour, "r")]),
            (Source.MINUTE, [(NEW_YEAR + 10 * hour, 1.0), (NEW_YEAR + 12 * hour, 2.0)]),
            (Source.HOURLY, [(NEW_YEAR, 3.0), (NEW_YEAR + hour, 4.0), (NEW_YEAR + 10 * hour, 5.0)]),
            (Source.DAILY, [(NEW_YEAR - 2 * day, 6.0), (NEW_YEAR - day, 7.0), (NEW_YEAR, 8.0)]),
        ]
    )
    assert merged == [
        (NEW_YEAR - 2 * day, 6.0, Source.DAILY),
        (NEW_YEAR - day, 7.0, Source.DAILY),
        (NEW_YEAR, 3.0, Source.HOURLY),
        (NEW_YEAR + hour, 4.0, Source.HOURLY),
        (NEW_YEAR + 10 * hour, 1.0, Source.MINUTE),
        (NEW_YEAR + 11 * hour, "r", Source.RAW),
    ]


def test_priority_merge_skips_empty_sources() -> None:
    """An empty higher series does not cut the lower ones."""
    merged = merge_by_priority([(Source.RAW, []), (Source.DAILY, [(NEW_YEAR, 1.0)])])
    assert merged == [(NEW_YEAR, 1.0, Source.DAILY)]


@given(
    st.lists(
        st.dictionaries(st.integers(0, 10_000), st.floats(allow_nan=False), max_size=20),
        min_size=1,
        max_size=4,
    )
)
def test_priority_merge_keeps_one_point_per_stamp_from_the_best_source(
    series: list[dict[int, float]],
) -> None:
    """The merge is sorted, unique per stamp, and only the first series may overlap later ones."""
    sources = list(Source)[: len(series)]
    merged = merge_by_priority(
        (source, sorted(points.items())) for source, points in zip(sources, series, strict=True)
    )
    stamps = [ts for ts, _, _ in merged]
    assert stamps == sorted(set(stamps))
    for ts, value, source in merged:
        assert series[sources.index(source)][ts] == value
    assert set(series[0]) <= set(stamps)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (DataType.DOUBLE, 21.5, 21.5),
        (DataType.INT, 21.5, 22),
        (DataType.INT, 20.4, 20),
        (DataType.INT, 2.5, 3),
        (DataType.INT, -2.5, -2),
        (DataType.ENUM, 1.0, 1),
        (DataType.INT, 3e12, None),
        (DataType.BOOL, 0.5, True),
        (DataType.BOOL, 0.25, False),
        (DataType.STRING, 7.0, "7"),
        (DataType.STRING, 21.5, "21.5"),
        (DataType.STRING, "ON", "ON"),
        (DataType.DOUBLE, "ON", None),
        (DataType.LOCATION, 1.0, None),
        (DataType.DOUBLE, math.nan, None),
    ],
)
def test_convert_to_datastream_types(kind: DataType, value: float | str, expected: object) -> None:
    """Numbers and text become the datastream's type, or None when they cannot."""
    assert convert(kind, value) == expected
    assert type(convert(kind, value)) is type(expected)


def test_number_text_keeps_huge_numbers_exact() -> None:
    """A whole number past 2**53 is written as the float it is."""
    assert number_text(1e300) == "1e+300"
    assert number_text(-3.0) == "-3"


def test_sanitized_folder_names() -> None:
    """Fork AM turns every character outside [A-Za-z0-9@._-] into an underscore."""
    assert sanitize_folder_name("o'neil+iot@example.com") == "o_neil_iot@example.com"


def test_user_folder_names_for_the_stock_app_and_others() -> None:
    """The stock app uses the email; other apps email_app, also the old email-only name."""
    assert user_folder_names("x@example.com", "Blynk") == ("x@example.com",)
    assert user_folder_names("a+b@example.com", "blynkAbCd1234") == (
        "a+b@example.com_blynkabcd1234",
        "a_b@example.com_blynkabcd1234",
        "a+b@example.com",
        "a_b@example.com",
    )


def test_folder_resolution_ranks_the_exact_owner_first() -> None:
    """An email folder fits its Blynk user first, then the email's app users; case is ignored."""
    users = [("x@example.com", "blynkAbCd1234"), ("x@example.com", "Blynk"), ("y@e.com", "Blynk")]
    assert resolve_folder("X@Example.com", users) == (
        ("x@example.com", "Blynk"),
        ("x@example.com", "blynkAbCd1234"),
    )
    assert resolve_folder("x@example.com_blynkAbCd1234", users) == (
        ("x@example.com", "blynkAbCd1234"),
    )
    assert resolve_folder("nobody@example.com", users) == ()


def test_folder_resolution_finds_sanitized_names() -> None:
    """An AM-sanitized folder name resolves to the user whose email it came from."""
    users = [("o'neil+iot@example.com", "Blynk")]
    assert resolve_folder("o_neil_iot@example.com", users) == tuple(users)


@given(st.binary(max_size=400), st.sampled_from(list(Granularity)))
def test_any_bytes_read_or_are_rejected(data: bytes, granularity: Granularity) -> None:
    """Random bytes give a clean series or ``UnreadableFile``, never another error."""
    try:
        records = read_records(data, granularity, now_ms=NOW)
    except UnreadableFile:
        return
    stamps = [ts for ts, _ in records.points]
    assert stamps == sorted(set(stamps))
    assert all(math.isfinite(value) for _, value in records.points)


@given(st.text(max_size=60))
def test_any_csv_line_parses_or_is_refused(line: str) -> None:
    """Any text line is a (ts, value) pair or None, never an error."""
    parsed = parse_csv_line(line)
    assert parsed is None or parsed[0] >= 0
