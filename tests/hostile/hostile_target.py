"""``Target``: one provisioned server for the hostile-input tests, on SQLite or PostgreSQL.

Both engines are provisioned alike, with ``DEVICES`` devices of the test template. The corpus
may delete ``Credentials.sacrificed_device_id``; every other test takes devices from ``pool``
after the first (the corpus's) and before the last.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from hostile_routes import Credentials

from e2e.platform_http import client_of, org_headers
from pinbase.testing import ServerProcess, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, Pool, load_spec

DEVICES = 8

SERVER_ENV = {
    **UNTHROTTLED,
    # The corpus sends a few thousand Platform requests in well under a minute.
    "PINBASE_PLATFORM_REQUESTS_PER_MINUTE": "1000000",
    "PINBASE_ACCESS_TOKEN_TTL_S": "3600",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A running server, what was provisioned into it, and the credentials to reach it."""

    engine: str
    server: ServerProcess
    pool: Pool
    headers: dict[str, str]
    """The organization's bearer header."""
    credentials: Credentials

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        return self.server.base_url


@contextmanager
def running_target(engine: str, data_dir: Path, *, postgres_url: str | None) -> Iterator[Target]:
    """Provision and serve on ``engine``: SQLite in ``data_dir``, or a new database on the
    PostgreSQL server of ``postgres_url``, dropped afterwards."""
    extra: tuple[str, ...] = ()
    url = None
    if postgres_url is not None:
        url = asyncio.run(create_database(postgres_url))
        extra = ("--database-url", url)
    try:
        created = provision(load_spec(DEVICES), *extra, data_dir=data_dir)
        with ServerProcess(data_dir, *extra, env=SERVER_ENV) as server:
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                headers = org_headers(http, created)
            pool = Pool(created)
            pool.take()  # the corpus's device
            yield Target(
                engine=engine,
                server=server,
                pool=pool,
                headers=headers,
                credentials=_credentials(created, headers),
            )
    finally:
        if url is not None:
            asyncio.run(drop_database(url))


def _credentials(created: dict[str, Any], headers: dict[str, str]) -> Credentials:
    client_id, client_secret = client_of(created)
    devices = created["devices"]
    template = created["templates"][0]
    return Credentials(
        device_token=devices[0]["token"],
        device_id=devices[0]["id"],
        sacrificed_device_id=devices[-1]["id"],
        template_id=template["id"],
        template_code=template["templateId"],
        org_id=created["organization"]["id"],
        bearer=headers["Authorization"].removeprefix("Bearer "),
        client_id=client_id,
        client_secret=client_secret,
    )
