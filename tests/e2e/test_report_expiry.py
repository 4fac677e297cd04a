"""DEV-08 report files expire (data-model.md §2.7: after 45 days; ``PINBASE_REPORT_TTL_DAYS``).

Over HTTP against a server whose TTL is a few seconds: the link works, then the sweep deletes the
file and the link answers what an unknown name answers. In process with a chosen clock: a file
lives its whole TTL, a sweep deletes only expired report files.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinbase.domain.ids import DeviceId
from pinbase.runtime import open_store
from pinbase.services.reports import Report, ReportRequest, ReportRow, Reports
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, provision
from testspec import Pool, load_spec

TTL_S = 3
DAY_S = 86_400
NOT_FOUND = {"error": {"message": "Not found."}}


@pytest.fixture(scope="module")
def own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of this module's own server."""
    return tmp_path_factory.mktemp("report-expiry")


@pytest.fixture(scope="module")
def own_pool(own_data_dir: Path) -> Pool:
    """The devices of this module's server."""
    return Pool(provision(load_spec(1), data_dir=own_data_dir))


@pytest.fixture(scope="module")
def own_server(own_data_dir: Path, own_pool: Pool) -> Iterator[ServerProcess]:
    """``pinbase serve`` keeping report files ``TTL_S`` seconds."""
    env = {"PINBASE_REPORT_TTL_DAYS": repr(TTL_S / DAY_S)}
    with ServerProcess(own_data_dir, env=env) as process:
        yield process


def test_link_answers_not_found_once_the_file_expired(
    own_server: ServerProcess, own_pool: Pool, own_data_dir: Path
) -> None:
    """The link downloads until the TTL; then the file is deleted and the link is unknown."""
    device: dict[str, Any] = own_pool.take()
    token = device["token"]
    with httpx.Client(base_url=own_server.base_url, timeout=10) as http:
        http.get(f"/external/api/batch/update?token={token}&v1=7")
        link = http.get(f"/external/api/data/get?token={token}").json()["link"]
        file = own_data_dir / "reports" / link.rpartition("/")[2]
        assert http.get(link).status_code == 200
        deadline = time.monotonic() + 4 * TTL_S + 10
        while file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not file.exists()
        expired = http.get(link)
        unknown = http.get(f"/device_data_{device['id']}_2024-01-01T00-00-00_{'A' * 22}.zip")
    assert (expired.status_code, expired.json()) == (unknown.status_code, unknown.json())
    assert (expired.status_code, expired.json()) == (404, NOT_FOUND)


async def test_sweep_deletes_only_expired_report_files(tmp_path: Path) -> None:
    """A file lives its whole TTL counted from the end of its second; other files stay."""
    store = await open_store(Settings(data_dir=tmp_path))
    try:
        now = 1_700_000_000_500
        folder = tmp_path / "reports"

        def reports_at(ms: int) -> Reports:
            return Reports(store, lambda: ms, folder=folder, per_day=10, ttl_ms=60_000)

        report = Report(rows=(ReportRow("Counter", now, 1.0),), rows_before_limit=1)
        name = await reports_at(now).write_zip(DeviceId(1), report, ReportRequest())
        stray = folder / "notes.txt"
        stray.write_text("not a report")
        not_a_date = folder / f"device_data_1_2024-13-01T00-00-00_{'A' * 22}.zip"
        not_a_date.write_bytes(b"")
        last_moment = reports_at(now - 500 + 1_000 + 60_000 - 1)
        assert await last_moment.sweep() == 0
        handle = await last_moment.open(name)
        assert handle is not None
        handle.close()
        expired = reports_at(now - 500 + 1_000 + 60_000)
        assert await expired.open(name) is None
        assert await expired.sweep() == 1
        assert sorted(path.name for path in folder.iterdir()) == [not_a_date.name, stray.name]
        assert await expired.open(not_a_date.name) is None
        assert await Reports(store, lambda: now, folder=tmp_path / "none", per_day=1).sweep() == 0
    finally:
        await store.close()
