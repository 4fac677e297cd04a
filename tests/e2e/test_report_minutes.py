"""DEV-08 aggregated reports answer from the per-minute aggregates exactly what folding the raw
points would: after DEV-04 writes (server time), DEV-05 and PLT-DS-04 imports (chosen times, some
merging into minutes that already hold points), across the window's partial first minute, and in
a zone whose offset splits minutes (those reports fold raw points).

The expected rows are computed here from the same device's ``RAW_DATA`` report, which reads raw
points only.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import bearer, client_of, issue_token

from pinbase.testing import ServerProcess, provision
from testspec import Pool, load_spec

DATA = "/external/api/data/get"
IMPORT = "/api/v1/organization/device/import/batch"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DEVICES = 8
SOURCES = ("AVG", "MIN", "MAX", "SUM", "COUNT")
ORDER = ["Counter", "Level", "Temperature", "Message", "Position", "Mode", "Switch"]
ORDER += ["Setpoint", "Humidity", "Relay", "Light"]
"""The template's datastreams in order: a bucket's rows follow it (tests/fixtures/spec.json)."""

Row = tuple[str, int, Any]
Bucketing = Callable[[int], int]


@pytest.fixture(scope="module")
def own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of this module's own server: each test makes more than 10 exports."""
    return tmp_path_factory.mktemp("report-minutes")


@pytest.fixture(scope="module")
def own_pool(own_data_dir: Path) -> Pool:
    """The devices of this module's server."""
    return Pool(provision(load_spec(DEVICES), data_dir=own_data_dir))


@pytest.fixture(scope="module")
def own_server(own_data_dir: Path, own_pool: Pool) -> Iterator[ServerProcess]:
    """``pinbase serve`` allowing plenty of exports per device and day."""
    with ServerProcess(own_data_dir, env={"PINBASE_REPORTS_PER_DAY": "1000"}) as process:
        yield process


@pytest.fixture
def http(own_server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of this module's server."""
    with httpx.Client(base_url=own_server.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def device(own_pool: Pool) -> dict[str, Any]:
    """A fresh device of this module's server."""
    return own_pool.take()


@pytest.fixture
def token(device: dict[str, Any]) -> str:
    """The fresh device's token."""
    return str(device["token"])


@pytest.fixture(scope="module")
def headers(own_server: ServerProcess, own_pool: Pool) -> dict[str, str]:
    """The organization's bearer header, for PLT-DS-04 imports."""
    with httpx.Client(base_url=own_server.base_url, timeout=10) as http:
        access_token: str = issue_token(http, client_of(own_pool.created))["access_token"]
    return bearer(access_token)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def report(http: httpx.Client, token: str, query: str) -> list[Row]:
    """``(name, ts, value)`` rows of a JSON report."""
    answer = http.get(f"{DATA}?token={token}&output=JSON&{query}")
    assert answer.status_code == 200, answer.text
    return [(r["data_stream_name"], r["ts"], r["value"]) for r in answer.json()["data"]]


def device_import(http: httpx.Client, token: str, pin: str, points: list[list[Any]]) -> None:
    """DEV-05: ``[[ts, value], …]`` onto ``pin``."""
    answer = http.post(f"/external/api/batch/update?token={token}&pin={pin}", json=points)
    assert answer.status_code == 200, answer.text


def platform_import(
    http: httpx.Client, headers: dict[str, str], device_id: int, points: list[list[Any]]
) -> None:
    """PLT-DS-04: ``[[ts, value], …]`` onto datastream 9 (Humidity, DOUBLE)."""
    values = [{"ts": ts, "value": value} for ts, value in points]
    body = {"deviceId": device_id, "dataStreamId": 9, "values": values}
    answer = http.post(IMPORT, json=body, headers=headers)
    assert answer.status_code == 204, answer.text


def fold(raw: list[Row], bucket: Bucketing, source: str) -> list[Row]:
    """What the report's aggregation makes of raw rows: one row per bucket and datastream."""
    groups: dict[tuple[int, str], list[Any]] = {}
    for name, ts, value in raw:
        groups.setdefault((bucket(ts), name), []).append(value)
    rows: list[Row] = []
    for (start, name), values in sorted(
        groups.items(), key=lambda g: (g[0][0], ORDER.index(g[0][1]))
    ):
        numbers = [v for v in values if not isinstance(v, str)]
        if source == "COUNT":
            rows.append((name, start, float(len(values))))
        elif numbers:
            reduce: dict[str, Callable[[list[float]], float]] = {
                "AVG": lambda n: sum(n) / len(n),
                "MIN": min,
                "MAX": max,
                "SUM": sum,
            }
            rows.append((name, start, reduce[source](numbers)))
    return rows


def utc(size: int) -> Bucketing:
    """Buckets of ``size`` ms aligned on UTC."""
    return lambda ts: ts - ts % size


def assert_matches_raw(
    http: httpx.Client, token: str, query: str, *, granularity: str, bucket: Bucketing
) -> None:
    """Every sourceType of the aggregated report equals the fold of the raw report."""
    raw = report(http, token, query)
    assert raw, "no raw points to compare with"
    for source in SOURCES:
        found = report(http, token, f"{query}&granularityType={granularity}&sourceType={source}")
        expected = fold(raw, bucket, source)
        assert [(n, ts) for n, ts, _ in found] == [(n, ts) for n, ts, _ in expected], source
        assert [v for _, _, v in found] == pytest.approx([v for _, _, v in expected]), source


def test_minute_report_after_writes_matches_the_raw_points(http: httpx.Client, token: str) -> None:
    """Values written at server time, numbers and text, come back folded per minute and hour."""
    for n in range(12):
        answer = http.get(f"/external/api/batch/update?token={token}&v9={n * 1.25}&v4=t{n}&v2={n}")
        assert answer.text == "OK"
    assert_matches_raw(http, token, "period=HOUR", granularity="MINUTE", bucket=utc(MINUTE_MS))
    assert_matches_raw(http, token, "period=DAY", granularity="HOURLY", bucket=utc(HOUR_MS))


def test_imports_land_in_their_minutes_and_merge_with_stored_points(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """DEV-05 and PLT-DS-04 imports, one dated into minutes already holding points, add up."""
    token = device["token"]
    minute = (now_ms() // MINUTE_MS - 90) * MINUTE_MS
    device_import(http, token, "v9", [[minute + 1_000, 4], [minute + 2_000, 8]])
    device_import(http, token, "v9", [[minute + MINUTE_MS + 5_000, 1.5]])
    platform_import(http, headers, device["id"], [[minute + 30_000, 0], [minute - 1_000, 7]])
    device_import(http, token, "v4", [[minute + 3_000, "a"], [minute + 4_000, "b"]])
    expected = {
        "AVG": [4.0, 1.5],
        "MIN": [0.0, 1.5],
        "MAX": [8.0, 1.5],
        "SUM": [12.0, 1.5],
        "COUNT": [3.0, 1.0],
    }
    for source, (first, second) in expected.items():
        query = f"pin=v9&period=DAY&granularityType=MINUTE&sourceType={source}"
        assert report(http, token, query) == [
            ("Humidity", minute - MINUTE_MS, 7.0 if source != "COUNT" else 1.0),
            ("Humidity", minute, first),
            ("Humidity", minute + MINUTE_MS, second),
        ]
    for granularity, size in (("MINUTE", MINUTE_MS), ("HOURLY", HOUR_MS), ("DAILY", DAY_MS)):
        assert_matches_raw(http, token, "period=WEEK", granularity=granularity, bucket=utc(size))


def test_the_partial_first_minute_counts_only_points_inside_the_window(
    http: httpx.Client, token: str
) -> None:
    """Of a minute cut by the window's start, only the points after the start count."""
    start = now_ms() - HOUR_MS
    device_import(
        http, token, "v9", [[start - 1_000, 100], [start + 10_000, 1], [start + 20_000, 2]]
    )
    assert_matches_raw(http, token, "period=HOUR", granularity="MINUTE", bucket=utc(MINUTE_MS))
    counted = report(http, token, "period=HOUR&granularityType=HOURLY&sourceType=COUNT")
    assert sum(value for _, _, value in counted) == 2.0


def test_an_offset_with_seconds_buckets_local_minutes(http: httpx.Client, token: str) -> None:
    """tzName=+01:00:30 starts minutes 30 s past the UTC minute; its buckets hold those points."""
    offset = HOUR_MS + 30_000
    minute = (now_ms() // MINUTE_MS - 20) * MINUTE_MS
    device_import(http, token, "v9", [[minute + s * 1_000, s] for s in (10, 29, 30, 31, 50)])
    assert_matches_raw(
        http,
        token,
        "period=HOUR&tzName=%2B01:00:30",
        granularity="MINUTE",
        bucket=lambda ts: (ts + offset) // MINUTE_MS * MINUTE_MS - offset,
    )
    found = report(http, token, "period=HOUR&tzName=%2B01:00:30&granularityType=MINUTE")
    assert found == [("Humidity", minute - 30_000, 19.5), ("Humidity", minute + 30_000, 37.0)]
