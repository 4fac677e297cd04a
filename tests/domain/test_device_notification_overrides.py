"""A device's per-event notification override (automations.md §1.5): what a user may pick, the
mute's end, and the stored JSON shape."""

import pytest

from pinbase.domain.device_notifications import (
    ChannelChoice,
    DeviceEventSettings,
    parse_channels,
)
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.notifications import (
    ALL_MEMBERS,
    DEVICE_OWNER,
    EMAIL,
    MAX_RECIPIENTS,
    PUSH,
    USER,
    Recipient,
)

ADA = Recipient(kind=USER, user_id=4)
EVERYONE = Recipient(kind=ALL_MEMBERS)


def test_picks_count_only_while_their_channel_is_on() -> None:
    """``chosen`` gives a channel's picks when it is switched on, nothing otherwise."""
    settings = DeviceEventSettings(
        email=ChannelChoice(enabled=True, recipients=(ADA,)),
        push=ChannelChoice(enabled=False, recipients=(EVERYONE,)),
    )
    assert settings.chosen(EMAIL) == (ADA,)
    assert settings.chosen(PUSH) == ()
    assert settings.chosen("SMS") == ()


def test_a_mute_ends_by_itself() -> None:
    """Muted before ``muted_until``, not at or after it; no end is not muted."""
    assert DeviceEventSettings(muted_until=1_000).is_muted(999)
    assert not DeviceEventSettings(muted_until=1_000).is_muted(1_000)
    assert not DeviceEventSettings().is_muted(0)


def test_users_pick_only_users_and_all_members() -> None:
    """The template's hidden defaults (owner, metafields) are not an end user's to pick."""
    with pytest.raises(InvalidDefinition, match="users or ALL_MEMBERS"):
        ChannelChoice(recipients=(Recipient(kind=DEVICE_OWNER),))
    with pytest.raises(InvalidDefinition, match="at most"):
        ChannelChoice(
            recipients=tuple(Recipient(kind=USER, user_id=n) for n in range(MAX_RECIPIENTS + 1))
        )


def test_channels_json_round_trips() -> None:
    """The stored shape reads back as the same override; missing channels are off."""
    settings = DeviceEventSettings(
        email=ChannelChoice(enabled=True, recipients=(ADA, EVERYONE)), muted_until=5
    )
    assert settings.to_json() == {
        "email": {
            "enabled": True,
            "recipients": [{"kind": "USER", "userId": 4}, {"kind": "ALL_MEMBERS"}],
        },
        "push": {"enabled": False, "recipients": []},
        "mutedUntil": 5,
    }
    assert parse_channels(settings.channels_json(), muted_until=5) == settings
    assert parse_channels({}) == DeviceEventSettings()


@pytest.mark.parametrize(
    "shape",
    [
        [],
        {"email": "on"},
        {"email": {"enabled": "yes"}},
        {"push": {"recipients": {}}},
        {"push": {"recipients": [{"kind": "NOBODY"}]}},
    ],
)
def test_malformed_channels_are_refused(shape: object) -> None:
    """Anything but the stored shape raises ``InvalidDefinition``."""
    with pytest.raises(InvalidDefinition):
        parse_channels(shape)
