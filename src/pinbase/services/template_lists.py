"""What the console lists about templates: the Templates page's rows, and the templates a new
device may be made from (console.md §1.3 "New Device", §1.5 "List").

Both read the directory (templates are all indexed, ``Directory.templates_in``); device counts
come from the database, as ``Templates.delete`` counts them, because the directory indexes only
the devices it has met.
"""

from dataclasses import dataclass

from pinbase.domain.templates import Template
from pinbase.services.directory import Directory
from pinbase.services.scope import Scoped
from pinbase.storage.base import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRow:
    """One row of the Templates page."""

    template: Template
    devices: int


async def template_rows(store: Store, directory: Directory, caller: Scoped) -> list[TemplateRow]:
    """The templates of the caller's scope with how many devices use each, by id."""
    templates = directory.templates_in(caller.scope)
    async with store.transaction() as tx:
        counts = [await tx.count_template_devices(t.id) for t in templates]
    return [TemplateRow(template=t, devices=n) for t, n in zip(templates, counts, strict=True)]


def usable_templates(directory: Directory, caller: Scoped) -> list[Template]:
    """The templates a device of the caller's home organization may use: those of that
    organization and of the organizations above it (``DeviceAdmin.create``'s rule), by name."""
    lineage = directory.lineage(caller.org_id)
    return sorted(directory.templates_in(lineage), key=lambda t: (t.name.lower(), t.id))
