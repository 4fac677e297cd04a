"""A server per engine for the hostile-input tests, shared by the package: SQLite, and
PostgreSQL on a database of its own on the session's throwaway server."""

from collections.abc import Iterator

import pytest
from hostile_target import Target, running_target

from postgres import session_url


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """A provisioned server on each engine."""
    engine: str = request.param
    postgres_url = session_url(request.config) if engine == "postgres" else None
    data_dir = tmp_path_factory.mktemp(f"hostile-{engine}")
    with running_target(engine, data_dir, postgres_url=postgres_url) as running:
        yield running
