"""The fixed-window limiter and the unknown-token cache, on a clock the tests move by hand."""

from hand_clock import T0, HandClock

from pinbase.domain.ids import DeviceId, Token
from pinbase.services.rate_limit import SECOND_MS, RateLimiter
from pinbase.services.unknown_tokens import UnknownTokens


def test_a_limit_of_zero_allows_every_hit() -> None:
    """0 turns a limit off (settings document it so)."""
    limiter: RateLimiter[DeviceId] = RateLimiter(HandClock(), limit=0, window_ms=SECOND_MS)
    assert {limiter.hit(DeviceId(1)) for _ in range(1000)} == {0}


def test_a_second_window_answers_a_whole_second_to_wait() -> None:
    """Past the limit the wait is rounded up to whole seconds, never 0."""
    clock = HandClock(now=T0 + 999)
    limiter: RateLimiter[DeviceId] = RateLimiter(clock, limit=1, window_ms=SECOND_MS)
    assert [limiter.hit(DeviceId(1)), limiter.hit(DeviceId(1))] == [0, 1]
    clock.now += 1
    assert limiter.hit(DeviceId(1)) == 0


def test_take_counts_an_amount_only_when_it_fits() -> None:
    """An amount that would pass the limit is refused without being counted; a new window
    starts afresh, and so does a forgotten key."""
    clock = HandClock()
    limiter: RateLimiter[DeviceId] = RateLimiter(clock, limit=5, window_ms=SECOND_MS)
    assert limiter.take(DeviceId(1), 3)
    assert not limiter.take(DeviceId(1), 3)
    assert limiter.take(DeviceId(1), 2)
    assert not limiter.take(DeviceId(1), 1)
    limiter.forget(DeviceId(1))
    assert limiter.take(DeviceId(1), 5)
    clock.now += SECOND_MS
    assert limiter.take(DeviceId(1), 5)


def test_an_unknown_token_is_remembered_for_the_ttl() -> None:
    """Remembered until its TTL ends, then forgotten."""
    clock = HandClock()
    unknown = UnknownTokens(clock, capacity=10, ttl_ms=5000)
    unknown.add(Token("wrong"))
    assert Token("wrong") in unknown
    clock.now += 4999
    assert Token("wrong") in unknown
    clock.now += 1
    assert Token("wrong") not in unknown
    assert Token("never added") not in unknown


def test_a_full_cache_evicts_the_oldest_token() -> None:
    """The bound holds: the oldest entry goes first; a re-added token counts as new."""
    unknown = UnknownTokens(HandClock(), capacity=2, ttl_ms=5000)
    for token in ("a", "b", "a", "c"):
        unknown.add(Token(token))
    assert [Token(t) in unknown for t in ("a", "b", "c")] == [True, False, True]


def test_a_discarded_token_is_forgotten_at_once() -> None:
    """A device created meanwhile takes its token out of the cache."""
    unknown = UnknownTokens(HandClock(), capacity=2, ttl_ms=5000)
    unknown.add(Token("new device"))
    unknown.discard(Token("new device"))
    assert Token("new device") not in unknown


def test_long_tokens_are_kept_as_digests() -> None:
    """A token past 64 characters is remembered all the same, under a bounded key."""
    unknown = UnknownTokens(HandClock(), capacity=2, ttl_ms=5000)
    long = Token("x" * 100_000)
    unknown.add(long)
    assert long in unknown
    assert Token("x" * 99_999 + "y") not in unknown


def test_no_capacity_or_no_ttl_remembers_nothing() -> None:
    """0 in either setting turns the cache off."""
    for capacity, ttl_ms in ((0, 5000), (10, 0)):
        unknown = UnknownTokens(HandClock(), capacity=capacity, ttl_ms=ttl_ms)
        unknown.add(Token("wrong"))
        assert Token("wrong") not in unknown
