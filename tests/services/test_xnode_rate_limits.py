"""Two nodes' whole services in one process, on one PostgreSQL database and one real Redis
(issue #11): the per-second device limit and the per-minute Platform API limit count the hits of
both nodes, and so do the daily report export quota and import allowance, once each node has
flushed its counts (every ``FLUSH_INTERVAL_S``); the one-event-per-code-per-second rule of device
events is asked of Redis at once."""

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hand_clock import HandClock
from nodes import two_nodes

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.points import Point
from pinbase.services.clock import DAY_MS
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.events import EventDropped
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.rate_limit import SharedRateLimiter
from pinbase.services.reports import ReportQuotaReached
from pinbase.services.telemetry import ImportQuotaExceeded

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

PER_SECOND = 4
PER_MINUTE = 6
REPORTS_PER_DAY = 4
IMPORTS_PER_DAY = 4


def fresh_key() -> int:
    """An id no other test (nor an earlier run on the same Redis) counted: the shared counters
    key on the limit, the window and the id alone."""
    return secrets.randbelow(2**31 - 2) + 1


@pytest.fixture(name="two_nodes")
async def two_nodes_fixture(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> AsyncIterator[tuple[Services, Services, HandClock]]:
    """Nodes A and B of one installation, on a fresh database, on one hand clock."""
    clock = HandClock()
    async with two_nodes(
        tmp_path,
        postgres_url,
        clock=clock,
        broker_url=redis_url,
        device_requests_per_second=PER_SECOND,
        platform_requests_per_minute=PER_MINUTE,
        reports_per_day=REPORTS_PER_DAY,
        import_points_per_day=IMPORTS_PER_DAY,
    ) as (a, b):
        yield a, b, clock


async def test_the_per_second_device_limit_counts_on_both_nodes(
    two_nodes: tuple[Services, Services, HandClock],
) -> None:
    """Half the limit on A and half on B: the next request is refused on B, and on A once A
    has flushed; the next second allows again on both."""
    a, b, clock = two_nodes
    assert isinstance(a.device_limiter, SharedRateLimiter)
    assert isinstance(b.device_limiter, SharedRateLimiter)
    device = DeviceId(fresh_key())
    clock.now = (clock.now // 1000 + 1) * 1000  # the start of a second: no rollover below
    assert [a.device_limiter.hit(device) for _ in range(PER_SECOND // 2)] == [0, 0]
    await a.device_limiter.flush()
    assert [b.device_limiter.hit(device) for _ in range(PER_SECOND // 2)] == [0, 0]
    await b.device_limiter.flush()
    assert b.device_limiter.hit(device) == 1
    # A learns B's hits with its next flush (the documented lag of one flush interval).
    a.device_limiter.hit(device)
    await a.device_limiter.flush()
    assert a.device_limiter.hit(device) == 1
    clock.now += 1000
    assert a.device_limiter.hit(device) == 0
    assert b.device_limiter.hit(device) == 0


async def test_the_per_minute_platform_limit_counts_on_both_nodes(
    two_nodes: tuple[Services, Services, HandClock],
) -> None:
    """An organization's Platform API requests split between A and B are refused beyond the
    per-minute limit on both nodes, with the seconds left in the minute."""
    a, b, clock = two_nodes
    assert isinstance(a.rate_limiter, SharedRateLimiter)
    assert isinstance(b.rate_limiter, SharedRateLimiter)
    org = OrgId(fresh_key())
    clock.now = (clock.now // 60_000 + 1) * 60_000 + 15_000  # 45 s left in the minute
    assert [a.rate_limiter.hit(org) for _ in range(PER_MINUTE // 2)] == [0, 0, 0]
    await a.rate_limiter.flush()
    assert [b.rate_limiter.hit(org) for _ in range(PER_MINUTE // 2)] == [0, 0, 0]
    await b.rate_limiter.flush()
    assert b.rate_limiter.hit(org) == 45
    await b.rate_limiter.flush()
    await a.rate_limiter.flush()  # nothing pending on A: it learns nothing new
    a.rate_limiter.hit(org)
    await a.rate_limiter.flush()
    assert a.rate_limiter.hit(org) == 45


async def test_the_daily_report_quota_counts_on_both_nodes(
    two_nodes: tuple[Services, Services, HandClock],
) -> None:
    """Half a device's daily exports (DEV-08) on A and half on B: the next export is refused on
    B at once and on A after its next flush; the next UTC day allows again on both."""
    a, b, clock = two_nodes
    quota_a, quota_b = a.reports.quota, b.reports.quota
    assert isinstance(quota_a, SharedRateLimiter)
    assert isinstance(quota_b, SharedRateLimiter)
    device = DeviceId(fresh_key())
    clock.now = (clock.now // DAY_MS + 1) * DAY_MS  # the start of a UTC day
    for _ in range(REPORTS_PER_DAY // 2):
        a.reports.charge(device)
    await quota_a.flush()
    for _ in range(REPORTS_PER_DAY // 2):
        b.reports.charge(device)
    await quota_b.flush()
    with pytest.raises(ReportQuotaReached):
        b.reports.charge(device)
    # A learns B's exports with its next flush (the documented lag of one flush interval).
    with contextlib.suppress(ReportQuotaReached):
        a.reports.charge(device)
    await quota_a.flush()
    with pytest.raises(ReportQuotaReached):
        a.reports.charge(device)
    clock.now += DAY_MS
    a.reports.charge(device)
    b.reports.charge(device)


async def test_the_daily_import_allowance_counts_on_both_nodes(
    two_nodes: tuple[Services, Services, HandClock],
) -> None:
    """Points imported for one device through A and B share its daily allowance: past it, an
    import is refused on B at once and on A after its next flush, and stores nothing."""
    a, b, clock = two_nodes
    quota_a, quota_b = a.telemetry.import_quota, b.telemetry.import_quota
    assert isinstance(quota_a, SharedRateLimiter)
    assert isinstance(quota_b, SharedRateLimiter)
    created: dict[str, Any] = await provision(
        a.store, parse_spec(DEMO_SPEC), clock=a.clock, bus=a.bus
    )
    bound = await a.directory.by_token(created["devices"][0]["token"])
    assert bound is not None
    device, counter = bound.device, bound.template.datastreams[0]
    clock.now = (clock.now // DAY_MS + 1) * DAY_MS

    def points(n: int) -> list[Point]:
        clock.now += 1
        return [Point(device.id, counter.id, clock.now - 1000 - i, i) for i in range(n)]

    await a.telemetry.import_points(device, points(IMPORTS_PER_DAY // 2))
    await quota_a.flush()
    await b.telemetry.import_points(device, points(IMPORTS_PER_DAY // 2))
    await quota_b.flush()
    with pytest.raises(ImportQuotaExceeded):
        await b.telemetry.import_points(device, points(1))
    # A learns B's points with its next flush (the documented lag of one flush interval).
    with contextlib.suppress(ImportQuotaExceeded):
        await a.telemetry.import_points(device, points(1))
    await quota_a.flush()
    with pytest.raises(ImportQuotaExceeded):
        await a.telemetry.import_points(device, points(1))


async def test_one_event_per_code_per_second_counts_on_both_nodes(
    two_nodes: tuple[Services, Services, HandClock],
) -> None:
    """An event logged through A, then the same event of the same device through B in the same
    second: B drops it at once (``RATE_1S``, asked of Redis, no flush lag); the next second B
    logs it."""
    a, b, clock = two_nodes
    assert a.events.shared_gap is not None
    assert b.events.shared_gap is not None
    created: dict[str, Any] = await provision(
        a.store, parse_spec(DEMO_SPEC), clock=a.clock, bus=a.bus
    )
    bound = await a.directory.by_token(created["devices"][0]["token"])
    assert bound is not None
    event = bound.template.events[0]
    clock.now = (clock.now // 1000 + 1) * 1000  # the start of a second: no rollover below
    await a.events.log(bound.device, event, None)
    with pytest.raises(EventDropped) as dropped:
        await b.events.log(bound.device, event, None)
    assert dropped.value.reason == "RATE_1S"
    clock.now += 1000
    await b.events.log(bound.device, event, None)
