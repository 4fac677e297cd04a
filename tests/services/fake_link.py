"""A device connection as ``DeviceSessions`` sees it, for tests of sessions across nodes."""

from dataclasses import dataclass, field

from pinbase.services.bus import DeviceCommanded, PropertyChanged, ValuesChanged


@dataclass
class FakeLink:
    """A device connection as ``DeviceSessions`` sees it; records being replaced."""

    origin: str = "device_tcp"
    replaced: int = 0
    pushed: list[ValuesChanged] = field(default_factory=list)
    commands: list[DeviceCommanded] = field(default_factory=list)

    def push_values(self, change: ValuesChanged) -> None:
        self.pushed.append(change)

    def push_property(self, change: PropertyChanged) -> None:
        pass

    def send_command(self, command: DeviceCommanded) -> None:
        self.commands.append(command)

    def replace(self) -> None:
        self.replaced += 1
