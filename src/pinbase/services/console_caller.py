"""Who a console request acts for, and what its role lets it do (console.md §1.7).

Scope is the Platform API's rule (``services.oauth.Caller``): the user's home organization and
everything below it; anything outside is answered as missing. Permissions are a flat set of keys
per role, the recommendation of console.md §1.7: Admin holds every key; Staff views, controls
and edits the devices of its organizations and views templates; User views and controls the
devices it owns. Blynk's own User role starts with no permission at all, which leaves an invited
user looking at an empty console until an Admin grants some; Pinbase has no role editor yet, so
its User role starts where that Admin usually ends up (docs/decisions.md).

Every console page, JSON endpoint and the live socket ask a ``ConsoleCaller`` before they show
or change anything: ``can`` for a section, ``can_view_device`` / ``can_control_device`` /
``can_edit_device`` for one device.
"""

from dataclasses import dataclass
from enum import StrEnum

from pinbase.domain.devices import Device
from pinbase.domain.ids import OrgId
from pinbase.domain.users import ADMIN, ROLES, STAFF, USER


class Permission(StrEnum):
    """One permission key (console.md §1.7's groups, reduced to what the console offers)."""

    ORG_DEVICES_VIEW = "org_devices.view"
    """See every device of the organizations in scope."""
    ORG_DEVICES_CONTROL = "org_devices.control"
    """Write values to those devices (widgets)."""
    ORG_DEVICES_EDIT = "org_devices.edit"
    """Rename, edit metadata, create and delete devices."""
    OWN_DEVICES_VIEW = "own_devices.view"
    """See the devices the user owns."""
    OWN_DEVICES_CONTROL = "own_devices.control"
    """Write values to the devices the user owns."""
    TEMPLATES_VIEW = "templates.view"
    TEMPLATES_EDIT = "templates.edit"
    ORGANIZATIONS_VIEW = "organizations.view"
    ORGANIZATIONS_EDIT = "organizations.edit"
    USERS_VIEW = "users.view"
    USERS_EDIT = "users.edit"
    """Invite, edit and delete users, and hand out invitation links."""
    DEVELOPER = "developer.oauth"
    """Create and revoke OAuth clients of the Platform API."""
    AUTOMATIONS_VIEW = "automations.view"
    """List automations and read one with its run log (automations.md §3.8, View)."""
    AUTOMATIONS_CREATE = "automations.create"
    AUTOMATIONS_EDIT = "automations.edit"
    """Change an automation, enable or disable it."""
    AUTOMATIONS_DELETE = "automations.delete"
    AUTOMATIONS_EXECUTE = "automations.execute"
    """Run a Scene ("Execute automation") and stop pending runs."""
    WEBHOOKS = "developer.webhooks"
    """See, edit, test and delete webhooks (Blynk keeps them under Settings → Developers)."""


ROLE_PERMISSIONS: dict[int, frozenset[Permission]] = {
    ADMIN: frozenset(Permission),
    STAFF: frozenset(
        {
            Permission.ORG_DEVICES_VIEW,
            Permission.ORG_DEVICES_CONTROL,
            Permission.ORG_DEVICES_EDIT,
            Permission.OWN_DEVICES_VIEW,
            Permission.OWN_DEVICES_CONTROL,
            Permission.TEMPLATES_VIEW,
            Permission.AUTOMATIONS_VIEW,
            Permission.AUTOMATIONS_EXECUTE,
        }
    ),
    USER: frozenset({Permission.OWN_DEVICES_VIEW, Permission.OWN_DEVICES_CONTROL}),
}
"""The permissions of each predefined role (``domain.users.ROLES``)."""


def permissions_of(role_id: int) -> frozenset[Permission]:
    """The permissions of a role; none for a role id Pinbase does not know."""
    return ROLE_PERMISSIONS.get(role_id, frozenset())


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleCaller:
    """A signed-in console user: who, where, and what its role allows."""

    user_id: int
    email: str
    name: str
    role_id: int
    org_id: OrgId
    """The home organization."""
    scope: frozenset[OrgId]
    """``org_id`` and every organization below it (the Platform API's scope rule)."""
    permissions: frozenset[Permission]

    @property
    def role_name(self) -> str:
        """``Admin``, ``Staff`` or ``User``."""
        return ROLES.get(self.role_id, "Unknown")

    def can(self, permission: Permission) -> bool:
        """Whether the role holds ``permission``."""
        return permission in self.permissions

    def can_see(self, org_id: OrgId) -> bool:
        """Whether an object of ``org_id`` is within the caller's scope."""
        return org_id in self.scope

    def can_view_device(self, device: Device) -> bool:
        """Whether the device shows in the caller's lists and pages."""
        return self._allows(device, Permission.ORG_DEVICES_VIEW, Permission.OWN_DEVICES_VIEW)

    def can_control_device(self, device: Device) -> bool:
        """Whether the caller may write the device's values."""
        return self._allows(device, Permission.ORG_DEVICES_CONTROL, Permission.OWN_DEVICES_CONTROL)

    def can_edit_device(self, device: Device) -> bool:
        """Whether the caller may rename the device or change its metadata."""
        return self.can_see(device.org_id) and self.can(Permission.ORG_DEVICES_EDIT)

    def _allows(self, device: Device, any_device: Permission, own_device: Permission) -> bool:
        if not self.can_see(device.org_id):
            return False
        return self.can(any_device) or (
            self.can(own_device) and device.owner_user_id == self.user_id
        )
