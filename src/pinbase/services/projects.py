"""The devices and tags of a legacy Blynk 1.0 "project" (http-api.md LEG-12).

Blynk 1.0's project (its ``DashBoard``) held the devices of one user's app, with the tags put on
them. Pinbase's nearest equivalent of the project is the device's template (§5.1), so a token's
project holds the devices built from the same template in the same organization with the same
owner: what one user's app would have shown. Devices of other owners or organizations never
appear, so a device token reveals nothing its owner could not already see.
"""

from dataclasses import dataclass

from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId
from pinbase.services.directory import Directory
from pinbase.storage.base import Store, StoredTag


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectTag:
    """A tag with the project's devices it is put on."""

    tag: StoredTag
    device_ids: tuple[DeviceId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectMembers:
    """The devices of a project, by id, and the tags on them, by tag id."""

    devices: tuple[Device, ...]
    tags: tuple[ProjectTag, ...]


async def project_members(directory: Directory, store: Store, device: Device) -> ProjectMembers:
    """The devices sharing ``device``'s template, organization and owner, with their tags."""
    devices = tuple(
        bound.device
        for bound in directory.devices_in([device.org_id])
        if bound.device.template_id == device.template_id
        and bound.device.owner_user_id == device.owner_user_id
    )
    async with store.transaction() as tx:
        links = await tx.list_tag_links([member.id for member in devices])
    tagged: dict[int, tuple[StoredTag, list[DeviceId]]] = {}
    for link in links:
        tagged.setdefault(link.tag.id, (link.tag, []))[1].append(link.device_id)
    tags = tuple(ProjectTag(tag=tag, device_ids=tuple(ids)) for tag, ids in tagged.values())
    return ProjectMembers(devices=devices, tags=tags)
