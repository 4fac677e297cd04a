"""The template-editing part of the storage contract: saving a changed template with its
datastreams, events, metafields and dashboard, deleting one, and erasing what devices stored for
a datastream that went or changed its type.

No SQL here; ``storage.sql_templates`` implements it. Creating a template stays with
``Transaction.add_template``, which provisioning shares.
"""

from typing import Protocol

from pinbase.domain.ids import DatastreamId, DeviceId, MetafieldId, TemplateId
from pinbase.domain.templates import Template


class TemplateRepository(Protocol):
    """Changes to one template inside one transaction."""

    async def save_template(self, template: Template) -> bool:
        """Store ``template`` as it is now: name, description, dashboard and every child
        replaced. False when the template is missing (deleted meanwhile)."""
        ...

    async def count_template_devices(self, template_id: TemplateId) -> int:
        """How many devices use the template."""
        ...

    async def delete_template(self, template_id: TemplateId) -> bool:
        """Delete a template no device uses, with its children; False when it is missing."""
        ...

    async def erase_datastream_data(
        self, template_id: TemplateId, datastream_id: DatastreamId
    ) -> list[DeviceId]:
        """Erase the current values, history (raw and per minute) and properties every device
        of the template keeps for one datastream; the ids of those devices."""
        ...

    async def erase_metafield_values(
        self, template_id: TemplateId, metafield_id: MetafieldId
    ) -> None:
        """Erase every device's value of one metadata field of the template."""
        ...
