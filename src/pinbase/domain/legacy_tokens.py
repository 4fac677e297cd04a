"""Legacy tokens held by several devices (legacy-import.md §1.5): which device keeps one."""

from collections.abc import Iterable

from pinbase.domain.errors import PinbaseError
from pinbase.domain.legacy_devices import DevicePlan
from pinbase.domain.legacy_report import Issue

SKIP, FAIL = "skip", "fail"
"""``--on-token-conflict`` policies (§1.5)."""


class TokenConflict(PinbaseError):
    """Two legacy devices hold the same token and the policy is ``fail`` (exit code 1)."""


def settle_tokens(
    holders: Iterable[tuple[int, DevicePlan]], issues: list[Issue], *, policy: str
) -> set[str]:
    """Apply ``--on-token-conflict`` (§1.5) to devices paired with their user's
    ``lastModifiedTs``: ``skip`` keeps a shared token on the device of the newest user (ties:
    trace key order) and returns the keys of the others, which get a new token; ``fail`` raises.

    Raises:
        TokenConflict: a shared token under ``fail``.
    """
    by_token: dict[str, list[tuple[int, str]]] = {}
    for newness, device in holders:
        if device.token_kept:
            by_token.setdefault(device.token, []).append((-newness, device.key))
    losers: set[str] = set()
    for held in by_token.values():
        if len(held) < 2:
            continue
        held.sort()
        if policy == FAIL:
            names = ", ".join(h[1] for h in held)
            raise TokenConflict(f"one token is held by several legacy devices: {names}")
        for _, key in held[1:]:
            losers.add(key)
            issues.append(
                Issue(
                    code="TOKEN_DUP",
                    subject=key,
                    reason=f"its token also belongs to {held[0][1]} (newer user): this device "
                    "gets a new token",
                )
            )
    return losers
