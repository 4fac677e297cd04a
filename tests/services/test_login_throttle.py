"""The failed-login rule: free failures, a doubling delay up to a cap, per address and per token,
counts that start over and memory that stays bounded."""

from hand_clock import HandClock

from pinbase.services import login_throttle
from pinbase.services.login_throttle import LoginThrottle, address_key

SECOND = 1000


def throttle(clock: HandClock, *, free: int = 5, max_delay: float = 30.0) -> LoginThrottle:
    """The default rule (5 free failures, 10 minutes, 30 s at most) on ``clock``."""
    return LoginThrottle(clock, free_failures=free, window_s=600, max_delay_s=max_delay)


def test_delay_starts_after_the_free_failures_doubles_and_stops_at_the_cap() -> None:
    """Five failures are answered at once, then 1, 2, 4, 8, 16 s, then 30 s each."""
    rule = throttle(HandClock())
    delays = [rule.failed("10.0.0.1", f"guess-{n}") for n in range(12)]
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30]


def test_one_token_is_slowed_whatever_address_presents_it() -> None:
    """A wrong token retried from ten addresses is delayed from its sixth try."""
    rule = throttle(HandClock())
    delays = [rule.failed(f"10.0.0.{n}", "typo") for n in range(10)]
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16]


def test_other_addresses_are_not_slowed_by_one_guessing_address() -> None:
    """An address that failed 20 times delays only its own failures."""
    rule = throttle(HandClock())
    for n in range(20):
        rule.failed("10.0.0.1", f"guess-{n}")
    assert rule.failed("10.0.0.2", "other") == 0


def test_a_quiet_window_starts_the_count_over() -> None:
    """Ten minutes without a failure forget an address's failures."""
    clock = HandClock()
    rule = throttle(clock)
    for n in range(8):
        rule.failed("10.0.0.1", f"guess-{n}")
    clock.now += 600 * SECOND
    assert rule.failed("10.0.0.1", "again") == 0
    assert rule.tracked == (1, 1)


def test_an_ipv6_host_counts_per_64_prefix() -> None:
    """Addresses inside one /64 share a count; an IPv4-mapped address counts as IPv4."""
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key("?") == "?"
    rule = throttle(HandClock(), free=1)
    assert rule.failed("2001:db8:1:2::1") == 0
    assert rule.failed("2001:db8:1:2::2") == 1


def test_zero_free_failures_turns_the_rule_off() -> None:
    """``login_failures_limit = 0``: nothing is counted, nothing waits."""
    rule = throttle(HandClock(), free=0)
    assert not any(rule.failed("10.0.0.1", "x") for _ in range(100))
    assert rule.tracked == (0, 0)


def test_memory_is_bounded() -> None:
    """Past ``MAX_TRACKED_KEYS`` addresses the least recently failed is forgotten."""
    rule = throttle(HandClock())
    for n in range(login_throttle.MAX_TRACKED_KEYS + 10):
        rule.failed(f"host-{n}")
    assert rule.tracked == (login_throttle.MAX_TRACKED_KEYS, 0)


def test_a_thousand_sequential_guesses_take_over_eight_hours() -> None:
    """With the defaults, 1,000 wrong tokens from one address, each sent once the previous was
    answered, wait 29,731 s in all (8 h 15 min): 5 free, 1+2+4+8+16 s, then 990 x 30 s."""
    clock = HandClock()
    rule = throttle(clock)
    waited = 0.0
    for n in range(1000):
        delay = rule.failed("10.0.0.1", f"guess-{n}")
        waited += delay
        clock.now += round(delay * SECOND)
    assert waited == 29_731
