"""The optional access log: one line per request, never a token, nothing when it is off."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pinbase.testing import ServerProcess, run_cli

ACCESS_LINE = re.compile(
    r"INFO pinbase\.http\.access_log http\.request method=(\S+) path=(\S+) status=(\d+) "
    r"duration_ms=\d+\.\d"
)


@pytest.fixture
def demo_data(tmp_path: Path) -> tuple[Path, str]:
    """A data folder holding the demo device, and its token."""
    data = tmp_path / "data"
    run_cli("demo", "--data", str(data))
    token: str = json.loads((data / "demo.json").read_text())["devices"][0]["token"]
    return data, token


def get(server: ServerProcess, path: str) -> None:
    """GET ``path``; the answer does not matter, only what the server logs."""
    try:
        with urllib.request.urlopen(server.base_url + path, timeout=10):
            pass
    except urllib.error.HTTPError:
        pass


def test_access_log_lines_hold_no_token(demo_data: tuple[Path, str]) -> None:
    """Device, legacy and Platform requests are logged with method, path, status; no token."""
    data, token = demo_data
    with ServerProcess(data, "--access-log") as server:
        get(server, f"/external/api/get?token={token}&v1")
        get(server, f"/{token}/get/v1")
        get(server, "/api/v1/organization")
        get(server, "/healthz")
    log = server.log()
    assert token not in log
    lines = [match.groups() for match in ACCESS_LINE.finditer(log)]
    assert ("GET", "/external/api/get", "200") in lines
    assert ("GET", "/***/get/v1", "200") in lines
    assert ("GET", "/api/v1/organization", "401") in lines
    assert ("GET", "/healthz", "200") in lines


def test_access_log_is_off_by_default(demo_data: tuple[Path, str]) -> None:
    """Without --access-log no request is logged."""
    data, token = demo_data
    with ServerProcess(data) as server:
        get(server, f"/external/api/get?token={token}&v1")
    assert "http.request" not in server.log()
