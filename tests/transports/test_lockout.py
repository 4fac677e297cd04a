"""Login flood bookkeeping: failures per address, blocks that end, bounded memory."""

from pinbase.transports import lockout
from pinbase.transports.lockout import LoginLockout


def test_block_starts_at_the_limit_and_ends_after_the_block_time() -> None:
    """The third failure blocks the address for 600 s; then it may try again."""
    guard = LoginLockout(limit=3, block_seconds=600)
    assert not guard.record_failure("10.0.0.1", 0)
    assert not guard.record_failure("10.0.0.1", 1)
    assert guard.record_failure("10.0.0.1", 2)
    assert guard.is_blocked("10.0.0.1", 601)
    assert not guard.is_blocked("10.0.0.2", 601)
    assert not guard.is_blocked("10.0.0.1", 602)


def test_failures_far_apart_do_not_add_up() -> None:
    """Failures older than the window are forgotten."""
    guard = LoginLockout(limit=2, block_seconds=10)
    assert not guard.record_failure("a", 0)
    assert not guard.record_failure("a", 20)
    assert guard.record_failure("a", 21)


def test_limit_zero_never_blocks() -> None:
    """``login_failures_limit = 0`` turns the protection off."""
    guard = LoginLockout(limit=0, block_seconds=10)
    assert not any(guard.record_failure("a", n) for n in range(100))
    assert not guard.is_blocked("a", 100)


def test_memory_is_bounded() -> None:
    """Past ``MAX_TRACKED_ADDRESSES`` the oldest address is forgotten."""
    guard = LoginLockout(limit=5, block_seconds=10)
    for n in range(lockout.MAX_TRACKED_ADDRESSES + 10):
        guard.record_failure(f"host-{n}", 0)
    assert len(guard._failures) == lockout.MAX_TRACKED_ADDRESSES
    assert "host-0" not in guard._failures
