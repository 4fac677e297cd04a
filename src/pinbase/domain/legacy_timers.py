"""Legacy Timer widgets as Pinbase automations (legacy-import.md §5.3, "TIMER").

The legacy **server** wrote a Timer's ``startValue`` to its pin every day at ``startTime`` and
``stopValue`` at ``stopTime`` (seconds of the day, UTC). Without an equivalent the devices stop
being switched, so each half becomes an automation: a daily SCHEDULE at that UTC time with one
CONTROL_DEVICE action per target device. Pinbase schedules to the minute: seconds are dropped.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pinbase.domain.legacy_profiles import as_int, as_text
from pinbase.domain.legacy_widgets import pin_of

DAY_S = 24 * 3600
MAX_NAME = 100
"""An automation's name (``domain.automations.MAX_NAME_CHARS``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerSwitch:
    """One half of a Timer: at ``hour:minute`` UTC every day, write ``value`` to the pin of
    the devices named by trace key."""

    name: str
    kind: str
    number: int
    hour: int
    minute: int
    value: str
    device_keys: tuple[str, ...]
    rounded: bool = False
    """The legacy time had seconds, dropped here."""

    def automation_json(self, targets: Sequence[tuple[int, int]]) -> dict[str, Any]:
        """The automation of spec automations.md §3.1 for (device id, datastream id) targets."""
        return {
            "name": self.name,
            "legacy": True,
            "condition": {
                "kind": "SCHEDULE",
                "time": f"{self.hour:02d}:{self.minute:02d}",
                "tz": "UTC",
                "repeat": {"type": "DAILY"},
            },
            "actions": [
                {
                    "kind": "CONTROL_DEVICE",
                    "deviceId": device,
                    "dataStreamId": datastream,
                    "value": self.value,
                }
                for device, datastream in targets
            ],
        }


def timer_switches(
    widget: Mapping[str, Any], *, device_keys: tuple[str, ...]
) -> Iterator[TimerSwitch]:
    """The start and stop switches of one TIMER widget (none for a half without a time in the
    day or a value)."""
    pin = pin_of(widget)
    if pin is None or not device_keys:
        return
    label = as_text(widget.get("label")) or "Timer"
    for half, time_key, value_key in (
        ("on", "startTime", "startValue"),
        ("off", "stopTime", "stopValue"),
    ):
        seconds, value = as_int(widget.get(time_key), -1), as_text(widget.get(value_key))
        if not 0 <= seconds < DAY_S or value is None or "\0" in value:
            continue
        name = f"{label} {pin[0].upper()}{pin[1]} {half} (legacy Timer)"
        yield TimerSwitch(
            name=name[:MAX_NAME],
            kind=pin[0],
            number=pin[1],
            hour=seconds // 3600,
            minute=seconds % 3600 // 60,
            value=value,
            device_keys=device_keys,
            rounded=seconds % 60 != 0,
        )
