"""Two ``pinbase serve`` nodes of one installation sharing one data folder, the documented setup
(docs/scaling.md, "The data folder is shared"): a file uploaded or a report made through one node
is fetched through the other (issue #11, point 2)."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from interop_driver import eventually

from pinbase.testing import ServerProcess, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]


@dataclass
class SharedFolderNodes:
    """HTTP clients of node A and node B, and the provisioned devices."""

    a: httpx.Client
    b: httpx.Client
    devices: list[dict[str, Any]]


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[SharedFolderNodes]:
    """Nodes A and B on a fresh database, the session's Redis and one data folder."""
    database = asyncio.run(create_database(postgres_url))
    root = tmp_path_factory.mktemp("shared-folder")
    created = provision(load_spec(2), "--database-url", database, data_dir=root / "provision")
    shared = ("--database-url", database, "--broker-url", redis_url)
    try:
        with (
            ServerProcess(root / "data", *shared, env=UNTHROTTLED) as a,
            ServerProcess(root / "data", *shared, env=UNTHROTTLED) as b,
            httpx.Client(base_url=a.base_url, timeout=10) as api_a,
            httpx.Client(base_url=b.base_url, timeout=10) as api_b,
        ):
            yield SharedFolderNodes(a=api_a, b=api_b, devices=created["devices"])
    finally:
        asyncio.run(drop_database(database))


def test_a_file_uploaded_through_a_is_downloaded_through_b(nodes: SharedFolderNodes) -> None:
    """DEV-13 on node A answers a link; its path serves the same bytes through node B."""
    token = nodes.devices[0]["token"]
    content = b"\x89PNG shared between nodes"
    answer = nodes.a.post(
        f"/external/api/upload?token={token}", files={"upfile": ("photo.png", content)}
    )
    assert answer.status_code == 200, answer.text
    path = urlsplit(answer.text.strip()).path
    assert path.startswith("/device_uploads/")
    fetched = nodes.b.get(path)
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == content


def test_a_report_made_on_a_is_fetched_through_b(nodes: SharedFolderNodes) -> None:
    """A DEV-08 export made on node A (a zip in the data folder) downloads through node B."""
    token = nodes.devices[1]["token"]
    assert nodes.a.get(f"/external/api/update?token={token}&v1=12").status_code == 200
    links: list[str] = []

    def exported() -> bool:
        answer = nodes.a.get(f"/external/api/data/get?token={token}&period=DAY&pin=v1")
        if answer.status_code == 200:
            links.append(answer.json()["link"])
        return bool(links)

    assert eventually(exported)
    fetched = nodes.b.get(urlsplit(links[0]).path)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "application/zip"
    assert fetched.content.startswith(b"PK")
