"""DEV-08 GET /external/api/data/get and the /device_data_….zip links it returns.

Values come from DEV-04 batch updates (server time) or DEV-05 timestamped imports, which place
points at chosen moments so buckets and time zones can be checked exactly.
"""

import csv
import http.client
import io
import re
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.points import Point
from pinbase.domain.templates import Template
from pinbase.runtime import open_store
from pinbase.services.reports import (
    Granularity,
    Period,
    ReportRequest,
    Reports,
    ReportTooLarge,
    Source,
)
from pinbase.settings import Settings
from pinbase.testing import ServerProcess
from testspec import Pool

DATA = "/external/api/data/get"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
META = [
    {"name": "data_stream_name", "type": "String"},
    {"name": "ts", "type": "UInt32"},
    {"name": "value", "type": "Float64"},
]
PERIOD_ERROR = "No enum constant cc.blynk.server.core.model.widgets.outputs.graph.Period.{}"
INCORRECT = "Request with incorrect parameters"


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


@pytest.fixture(scope="module")
def idle(pool: Pool) -> dict[str, Any]:
    """One device shared by this module's tests that change nothing (refused requests, reads)."""
    return pool.take()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def report(client: httpx.Client, token: str, query: str = "") -> httpx.Response:
    return client.get(f"{DATA}?token={token}&{query}")


def rows(client: httpx.Client, token: str, query: str) -> list[tuple[str, Any, Any]]:
    """``(name, ts, value)`` of a JSON report."""
    answer = report(client, token, f"output=JSON&{query}")
    assert answer.status_code == 200, answer.text
    return [(r["data_stream_name"], r["ts"], r["value"]) for r in answer.json()["data"]]


def import_points(client: httpx.Client, token: str, pin: str, points: list[list[Any]]) -> None:
    """Store ``[[ts, value], …]`` on ``pin`` through DEV-05."""
    answer = client.post(f"/external/api/batch/update?token={token}&pin={pin}", json=points)
    assert answer.status_code == 200, answer.text


def raw_get(base_url: str, path: str) -> int:
    """GET ``path`` exactly as written: http.client neither normalises nor re-encodes it."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


# --- success shapes -----------------------------------------------------------------------------


def test_json_report_of_batch_updated_values(http: httpx.Client, token: str) -> None:
    """Values written by batch update come back as the documented JSON, ts in epoch ms."""
    before = now_ms()
    assert http.get(f"/external/api/batch/update?token={token}&v1=33&v2=44").text == "OK"
    after = now_ms()
    answer = report(http, token, "output=JSON")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["meta"] == META
    assert [(r["data_stream_name"], r["value"]) for r in body["data"]] == [
        ("Counter", 33.0),
        ("Level", 44.0),
    ]
    stamps = {r["ts"] for r in body["data"]}
    assert len(stamps) == 1
    assert before <= stamps.pop() <= after
    assert (body["rows"], body["rows_before_limit_at_least"]) == (2, 2)


@pytest.mark.parametrize("selection", ["pin=v2", "pin=V2", "dataStreamId=2"])
def test_one_datastream_by_pin_or_id(http: httpx.Client, token: str, selection: str) -> None:
    """pin (either case) or dataStreamId restricts the report to that datastream."""
    http.get(f"/external/api/batch/update?token={token}&v1=1&v2=2")
    assert [(name, value) for name, _, value in rows(http, token, selection)] == [("Level", 2.0)]


def test_raw_rows_keep_text_values(http: httpx.Client, token: str) -> None:
    """A string datastream's raw points keep their text as the value."""
    http.get(f"/external/api/update?token={token}&v4=hello%20there")
    assert [(n, v) for n, _, v in rows(http, token, "pin=v4")] == [("Message", "hello there")]


def test_file_link_downloads_a_zipped_csv(
    http: httpx.Client, server: ServerProcess, device: dict[str, Any], data_dir: Path
) -> None:
    """output=FILE (the default) answers a link on this host to a zip holding the CSV."""
    token = device["token"]
    http.get(f"/external/api/batch/update?token={token}&v1=7&v3=21.5")
    answer = report(http, token, "pin=v1")
    assert answer.status_code == 200
    link = answer.json()["link"]
    stamp = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}"
    name = rf"device_data_{device['id']}_{stamp}_[A-Za-z0-9_-]{{22}}\.zip"
    assert re.fullmatch(rf"{re.escape(server.base_url)}/{name}", link)
    assert (data_dir / "reports" / link.rpartition("/")[2]).is_file()
    download = http.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        (member,) = archive.namelist()
        assert member.endswith(".csv")
        table = list(csv.reader(io.StringIO(archive.read(member).decode())))
    assert table[0] == ["data_stream_name", "ts", "value"]
    assert [(row[0], row[2]) for row in table[1:]] == [("Counter", "7.0")]
    assert int(table[1][1]) == rows(http, token, "pin=v1")[0][1]


def test_two_files_in_one_second_get_two_links(http: httpx.Client, token: str) -> None:
    """Back-to-back exports never overwrite each other's file."""
    http.get(f"/external/api/batch/update?token={token}&v1=1")
    first = report(http, token).json()["link"]
    second = report(http, token).json()["link"]
    assert first != second
    assert http.get(first).status_code == http.get(second).status_code == 200


@pytest.mark.parametrize(
    ("zone", "time_format", "pattern"),
    [
        ("America/New_York", "ISO_SIMPLE", "%Y-%m-%d %H:%M:%S"),
        ("America/New_York", "ISO_US", "%m/%d/%y %I:%M:%S %p"),
        ("Asia/Kolkata", "ISO_US", "%m/%d/%y %I:%M:%S %p"),
        ("UTC", "ISO_SIMPLE", "%Y-%m-%d %H:%M:%S"),
    ],
)
def test_iso_formats_in_the_requested_zone(
    http: httpx.Client, token: str, zone: str, time_format: str, pattern: str
) -> None:
    """ISO_SIMPLE and ISO_US write ts as text in tzName (ISO_US: 04/10/19 11:45:41 AM)."""
    ts = (now_ms() // 1000 - 1234) * 1000
    import_points(http, token, "v9", [[ts, 1.5]])
    expected = datetime.fromtimestamp(ts / 1000, ZoneInfo(zone)).strftime(pattern)
    found = rows(http, token, f"pin=v9&format={time_format}&tzName={zone}")
    assert found == [("Humidity", expected, 1.5)]


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("Z", timedelta(0)),
        ("GMT", timedelta(0)),
        ("%2B05:30", timedelta(hours=5, minutes=30)),
        ("-0330", timedelta(hours=-3, minutes=-30)),
        ("UTC%2B2", timedelta(hours=2)),
        ("GMT-07:00", timedelta(hours=-7)),
    ],
)
def test_java_zone_ids(http: httpx.Client, token: str, zone: str, offset: timedelta) -> None:
    """Java ZoneId spellings (Z, GMT, +05:30, -0330, UTC+2…) are accepted as tzName."""
    ts = (now_ms() // 1000 - 600) * 1000
    import_points(http, token, "v9", [[ts, 2.0]])
    local = datetime.fromtimestamp(ts / 1000, timezone(offset)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows(http, token, f"pin=v9&format=ISO_SIMPLE&tzName={zone}") == [
        ("Humidity", local, 2.0)
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("AVG", [30.0, 5.0]),
        ("MIN", [10.0, 5.0]),
        ("MAX", [60.0, 5.0]),
        ("SUM", [90.0, 5.0]),
        ("COUNT", [3.0, 1.0]),
    ],
)
def test_minute_buckets_reduce_by_source_type(
    http: httpx.Client, token: str, source: str, expected: list[float]
) -> None:
    """MINUTE aggregates each minute by sourceType; a bucket's ts is the minute's start."""
    minute = (now_ms() // MINUTE_MS - 30) * MINUTE_MS
    points = [[minute + 5_000, 10], [minute + 20_000, 20], [minute + 50_000, 60]]
    import_points(http, token, "v9", [*points, [minute + 61_000, 5]])
    query = f"pin=v9&period=HOUR&granularityType=MINUTE&sourceType={source}"
    assert rows(http, token, query) == [
        ("Humidity", minute, expected[0]),
        ("Humidity", minute + MINUTE_MS, expected[1]),
    ]


def test_default_source_type_is_avg(http: httpx.Client, token: str) -> None:
    """Without sourceType, buckets are averaged."""
    minute = (now_ms() // MINUTE_MS - 10) * MINUTE_MS
    import_points(http, token, "v9", [[minute + 1_000, 1], [minute + 2_000, 2]])
    assert rows(http, token, "pin=v9&granularityType=MINUTE") == [("Humidity", minute, 1.5)]


def test_count_includes_text_values_other_sources_skip_them(http: httpx.Client, token: str) -> None:
    """Strings count in COUNT buckets; numeric reductions leave a text-only bucket out."""
    http.get(f"/external/api/batch/update?token={token}&v4=a&v2=3")
    count = rows(http, token, "granularityType=HOURLY&sourceType=COUNT")
    assert sorted((name, value) for name, _, value in count) == [("Level", 1.0), ("Message", 1.0)]
    assert [(n, v) for n, _, v in rows(http, token, "granularityType=HOURLY")] == [("Level", 3.0)]


def test_hourly_buckets_align_in_the_time_zone(http: httpx.Client, token: str) -> None:
    """In Asia/Kolkata (+05:30) hours start at half past the UTC hour."""
    hour = (now_ms() // HOUR_MS - 3) * HOUR_MS
    minutes = [(10, 1), (20, 3), (40, 10)]
    import_points(http, token, "v9", [[hour + m * MINUTE_MS, v] for m, v in minutes])
    query = "pin=v9&period=DAY&granularityType=HOURLY&sourceType=SUM"
    assert rows(http, token, query) == [("Humidity", hour, 14.0)]
    assert rows(http, token, f"{query}&tzName=Asia/Kolkata") == [
        ("Humidity", hour - HOUR_MS // 2, 4.0),
        ("Humidity", hour + HOUR_MS // 2, 10.0),
    ]


def test_daily_buckets_align_on_local_midnight(http: httpx.Client, token: str) -> None:
    """23:30 and 00:30 UTC are two UTC days but one New York day, starting at its midnight."""
    midnight = (now_ms() // DAY_MS - 2) * DAY_MS
    import_points(
        http, token, "v9", [[midnight - 30 * MINUTE_MS, 1], [midnight + 30 * MINUTE_MS, 2]]
    )
    query = "pin=v9&period=WEEK&granularityType=DAILY&sourceType=SUM"
    assert rows(http, token, query) == [
        ("Humidity", midnight - DAY_MS, 1.0),
        ("Humidity", midnight, 2.0),
    ]
    new_york = ZoneInfo("America/New_York")
    local = datetime.fromtimestamp(midnight / 1000, new_york).replace(hour=0)
    local_midnight = int(local.timestamp()) * 1000
    assert rows(http, token, f"{query}&tzName=America/New_York") == [
        ("Humidity", local_midnight, 3.0)
    ]


def test_points_outside_the_period_are_left_out(http: httpx.Client, token: str) -> None:
    """period=HOUR covers the last hour only; MONTH (the default) reaches further."""
    old = now_ms() - 2 * HOUR_MS
    import_points(http, token, "v9", [[old, 4]])
    assert report(http, token, "output=JSON&period=HOUR").json() == error("No data")
    assert rows(http, token, "pin=v9") == [("Humidity", old, 4.0)]


def test_send_events_adds_event_rows(http: httpx.Client, token: str) -> None:
    """sendEvents=true adds logged events (name, description) among the rows; false omits them."""
    assert http.get(f"/external/api/logEvent?token={token}&code=overheat").status_code == 200
    assert report(http, token, "output=JSON").json() == error("No data")
    found = rows(http, token, "sendEvents=true")
    assert [(name, value) for name, _, value in found] == [("Overheat", "Too hot")]
    http.get(f"/external/api/batch/update?token={token}&v1=5")
    found = rows(http, token, "sendEvents=true")
    assert [(name, value) for name, _, value in found] == [
        ("Overheat", "Too hot"),
        ("Counter", 5.0),
    ]


# --- errors -------------------------------------------------------------------------------------


def test_missing_token(http: httpx.Client) -> None:
    """No token answers No token provided."""
    answer = http.get(f"{DATA}?output=JSON")
    assert (answer.status_code, answer.json()) == (400, error("No token provided."))


def test_invalid_token(http: httpx.Client) -> None:
    """An unknown token answers Invalid token."""
    answer = report(http, "nope", "output=JSON")
    assert (answer.status_code, answer.json()) == (400, error("Invalid token."))


@pytest.mark.parametrize("period", ["YEAR", "month", "THREE_MONTH", ""])
def test_unknown_period_names_the_java_enum(
    http: httpx.Client, idle: dict[str, Any], period: str
) -> None:
    """An unknown period answers Blynk's Java enum message, with 400 instead of its 500."""
    answer = report(http, idle["token"], f"period={period}")
    assert (answer.status_code, answer.json()) == (400, error(PERIOD_ERROR.format(period)))


@pytest.mark.parametrize(
    "query",
    [
        "granularityType=SECOND",
        "granularityType=minute",
        "sourceType=MEDIAN",
        "format=ISO",
        "output=CSV",
        "output=",
        "tzName=",
        "sendEvents=maybe",
        "tzName=Mars/Olympus",
        "tzName=America",
        "tzName=../../etc/passwd",
        "tzName=%2B25:00",
        "tzName=UTC%2B5:99",
        "period=THREE_MONTHS",
        "period=THREE_MONTHS&granularityType=RAW_DATA",
    ],
)
def test_incorrect_parameters(http: httpx.Client, idle: dict[str, Any], query: str) -> None:
    """Bad enum values (other than period), unknown zones and RAW_DATA over THREE_MONTHS."""
    answer = report(http, idle["token"], query)
    assert (answer.status_code, answer.json()) == (400, error(INCORRECT))


@pytest.mark.parametrize(
    "query",
    ["pin=x1", "pin=v256", "pin=", "pin=v200", "dataStreamId=abc", "dataStreamId=99"],
)
def test_wrong_pin(http: httpx.Client, idle: dict[str, Any], query: str) -> None:
    """A malformed pin, a pin or id without datastream answer Wrong pin format."""
    answer = report(http, idle["token"], query)
    assert (answer.status_code, answer.json()) == (400, error("Wrong pin format."))


@pytest.mark.parametrize("query", ["", "output=JSON", "period=THREE_MONTHS&granularityType=DAILY"])
def test_no_data(http: httpx.Client, token: str, query: str) -> None:
    """A window without points answers No data, with 400 instead of Blynk's 500."""
    answer = report(http, token, query)
    assert (answer.status_code, answer.json()) == (400, error("No data"))


def test_daily_quota(http: httpx.Client, token: str) -> None:
    """Ten exports per device per day; refused requests are not counted; the 11th is refused."""
    for _ in range(3):
        assert report(http, token, "period=YEAR").status_code == 400
    for _ in range(10):
        assert report(http, token, "output=JSON").json() == error("No data")
    answer = report(http, token, "output=JSON")
    assert (answer.status_code, answer.json()) == (
        400,
        error("Daily limit of 10 data exports reached."),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/device_data_{id}_..%2F..%2Fpinbase.db",
        "/device_data_{id}_..%2F..%2Fpinbase.db.zip",
        "/device_data_{id}_%2e%2e%2f%2e%2e%2fpinbase.zip",
        "/device_data_..%2Fpinbase.db_2024-01-01T00-00-00.zip",
        "/device_data_{id}_2024-01-01T00-00-00.zip",
        "/device_data_{id}_2024-01-01T00-00-00.zip%00",
        "/device_data_{id}_x.zip",
        "/reports/device_data_{id}_2024-01-01T00-00-00.zip",
        "/device_data_99999999999_2024-01-01T00-00-00.zip",
    ],
)
def test_path_traversal_and_unknown_names_answer_404(
    server: ServerProcess, idle: dict[str, Any], path: str
) -> None:
    """Only existing report files of the exact name pattern are served; anything else is 404."""
    assert raw_get(server.base_url, path.format(id=idle["id"])) == 404


# --- service limits (in process: no request can reach them cheaply) -----------------------------

COUNTER = Datastream(
    id=DatastreamId(1), label="Counter", pin=Pin(PinType.VIRTUAL, 1), type=DataType.INT
)
TEMPLATE = Template(
    id=TemplateId(1), code="TMPLreports1", org_id=OrgId(1), name="Reports", datastreams=(COUNTER,)
)
NOW = 100 * DAY_MS


async def test_row_limit_paging_and_scan_limit(tmp_path: Path) -> None:
    """Paging keeps points sharing a timestamp across pages; the row and scan limits hold.

    25,000 points in groups of 7 per timestamp straddle the 10,000-point read pages. Raw output
    stops at max_rows and says so; an aggregate over more than max_scanned points is refused
    (the API answers it with "Too much data for one report…").
    """
    store = await open_store(Settings(data_dir=tmp_path))
    try:
        device = DeviceId(1)
        points = [
            Point(device, COUNTER.id, NOW - HOUR_MS + (n // 7) * 1000, n) for n in range(25_000)
        ]
        await store.append_points(points, current=[])

        def reports(**limits: int) -> Reports:
            return Reports(store, lambda: NOW, folder=tmp_path / "r", per_day=10, **limits)

        counted = await reports().build(
            device,
            TEMPLATE,
            ReportRequest(period=Period.DAY, granularity=Granularity.DAILY, source=Source.COUNT),
        )
        assert [row.value for row in counted.rows] == [25_000.0]
        raw = await reports(max_rows=30_000).build(device, TEMPLATE, ReportRequest())
        assert [row.value for row in raw.rows] == list(range(25_000))
        limited = await reports(max_rows=100).build(device, TEMPLATE, ReportRequest())
        assert (len(limited.rows), limited.rows_before_limit) == (100, 101)
        with pytest.raises(ReportTooLarge):
            await reports(max_scanned=24_999).build(
                device, TEMPLATE, ReportRequest(granularity=Granularity.MINUTE)
            )
    finally:
        await store.close()
