"""A console-like caller for service tests: a user of one organization who sees and controls
every device of its scope (the services take any ``Scoped`` caller)."""

from dataclasses import dataclass

from pinbase.domain.devices import Device
from pinbase.domain.ids import OrgId


@dataclass(frozen=True)
class Editor:
    """A user of ``org_id`` who sees and controls the devices of ``scope``."""

    org_id: OrgId
    scope: frozenset[OrgId]
    user_id: int | None = None

    def can_see(self, org_id: OrgId) -> bool:
        """Whether ``org_id`` is in scope."""
        return org_id in self.scope

    def can_view_device(self, device: Device) -> bool:
        """Every device of the scope."""
        return self.can_see(device.org_id)

    def can_control_device(self, device: Device) -> bool:
        """Every device of the scope."""
        return self.can_see(device.org_id)
