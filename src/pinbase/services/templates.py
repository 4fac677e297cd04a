"""Template editing (console.md §1.5): create, rename and delete templates, and edit their
datastreams, events, metadata fields and web dashboard. The console and the Platform API's
Pinbase extension (docs/platform-api.md) are two adapters over these use cases.

Who may edit. A caller edits the templates of its scope (its home organization and those below):
the same rule that lets it read them (PLT-TPL-02), so a template of another organization is
reported exactly like a missing one. Blynk lets only the root organization edit when there are
sub-organizations (console.md §1.5); a Pinbase caller of a sub-organization sees no template of
its parents, and those of its own subtree are its own (docs/decisions.md).

Theory of operation. Every edit reads the template from the database inside its transaction,
changes it as a domain value (which checks the domain's rules), checks the editing rules
(``services.template_settings``), stores the whole template and commits; edits of this process
run one at a time, so two editors never lose each other's change. Then ``TemplateSaved`` is
announced and ``CachedState`` binds every device of the template to the new version at once: a
device writing to a datastream created a moment ago is accepted on its next write. A datastream
that goes, or changes its data type, takes what devices stored for it (current values, history,
properties) along in the same transaction (``DatastreamErased``): a value stored under the old
type would read as something else. A metadata field that goes takes devices' values of it.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace

from pinbase.domain.dashboards import Dashboard, parse_dashboard
from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidDefinition, PinbaseError
from pinbase.domain.ids import DatastreamId, EventId, MetafieldId, OrgId, TemplateId
from pinbase.domain.templates import (
    Metafield,
    Template,
    TemplateEvent,
    check_offline_ignore_period,
    new_template_code,
)
from pinbase.services.bus import Bus
from pinbase.services.changes import (
    DatastreamErased,
    DeviceSaved,
    TemplateRemoved,
    TemplateSaved,
)
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.scope import (
    Scoped,
    TemplateNotFound,
    organization_in_scope,
    template_in_scope,
)
from pinbase.services.template_settings import (
    KEEP_AUTOMATION,
    DatastreamSettings,
    EventSettings,
    MetafieldSettings,
    check_template,
    check_template_name,
)
from pinbase.storage.base import Store, Transaction

logger = logging.getLogger(__name__)

Edit = Callable[[Template], Template]


class TemplateInUse(PinbaseError):
    """The template still has devices; ``args[0]`` is how many."""


class DatastreamNotInTemplate(PinbaseError):
    """The template has no datastream with that id."""


class EventNotInTemplate(PinbaseError):
    """The template has no event with that id."""


class MetafieldNotInTemplate(PinbaseError):
    """The template has no metadata field with that id."""


class Templates:
    """The template-editing use cases; see the module docstring for the rules."""

    def __init__(self, store: Store, directory: Directory, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._clock = clock
        self._editing = asyncio.Lock()

    async def find(self, caller: Scoped, template_id: int) -> Template:
        """The template, for its editor.

        Raises:
            TemplateNotFound: missing or outside the caller's scope.
        """
        return await template_in_scope(self._directory, caller, template_id)

    async def create(
        self, caller: Scoped, *, org_id: int | None, name: str, description: str | None
    ) -> Template:
        """A new template without datastreams in ``org_id`` (default: the caller's home).

        Raises:
            OrganizationOutOfScope: ``org_id`` is missing or outside the caller's scope.
            InvalidDefinition: the name or description breaks a rule.
        """
        target: OrgId = organization_in_scope(self._directory, caller, org_id)
        check_template_name(name)
        async with self._store.transaction() as tx:
            template = await tx.add_template(
                org_id=target,
                code=new_template_code(),
                name=name,
                description=description,
                datastreams=(),
                events=(),
                metafields=(),
                created_at=self._clock(),
            )
            check_template(template)
        self._bus.publish(TemplateSaved(template=template))
        logger.info("template.created template_id=%d org_id=%d", template.id, target)
        return template

    async def describe(
        self,
        caller: Scoped,
        template_id: int,
        *,
        name: str,
        description: str | None,
        offline_ignore_period: int | None = None,
    ) -> Template:
        """Rename the template, set its description and, unless None, its offline ignore period
        (seconds).

        Raises:
            TemplateNotFound, InvalidDefinition.
        """
        check_template_name(name)
        if offline_ignore_period is not None:
            check_offline_ignore_period(offline_ignore_period)

        def described(template: Template) -> Template:
            period = template.offline_ignore_period
            if offline_ignore_period is not None:
                period = offline_ignore_period
            return replace(
                template, name=name, description=description, offline_ignore_period=period
            )

        return await self._change(caller, template_id, described)

    async def delete(self, caller: Scoped, template_id: int) -> None:
        """Delete a template no device uses.

        Raises:
            TemplateNotFound: missing or outside the caller's scope.
            TemplateInUse: devices still use it (delete or move them first).
        """
        template = await template_in_scope(self._directory, caller, template_id)
        async with self._editing, self._store.transaction() as tx:
            devices = await tx.count_template_devices(template.id)
            if devices:
                raise TemplateInUse(devices)
            await tx.delete_template(template.id)
        self._bus.publish(TemplateRemoved(template_id=template.id))
        logger.info("template.deleted template_id=%d", template.id)

    async def add_datastream(
        self, caller: Scoped, template_id: int, settings: DatastreamSettings
    ) -> Datastream:
        """A new datastream with the next free id.

        Raises:
            TemplateNotFound, InvalidDefinition (a pin, name or alias already taken…).
        """
        created: list[Datastream] = []

        def add(template: Template) -> Template:
            created.append(settings.datastream(DatastreamId(_next_id(template.datastreams))))
            return replace(template, datastreams=(*template.datastreams, created[0]))

        await self._change(caller, template_id, add)
        return created[0]

    async def update_datastream(
        self, caller: Scoped, template_id: int, datastream_id: int, settings: DatastreamSettings
    ) -> Datastream:
        """Replace every setting of a datastream; its id stays.

        Raises:
            TemplateNotFound, DatastreamNotInTemplate, InvalidDefinition.
        """
        checked = settings.datastream(DatastreamId(datastream_id))
        updated = [checked]

        def update(template: Template) -> Template:
            _find(template.datastreams, datastream_id, DatastreamNotInTemplate)
            if settings.automation is KEEP_AUTOMATION:
                old = next(ds for ds in template.datastreams if ds.id == datastream_id)
                updated[0] = replace(checked, automation=old.automation)
            datastreams = tuple(
                updated[0] if ds.id == checked.id else ds for ds in template.datastreams
            )
            return replace(template, datastreams=datastreams)

        await self._change(caller, template_id, update)
        return updated[0]

    async def delete_datastream(self, caller: Scoped, template_id: int, datastream_id: int) -> None:
        """Remove a datastream with what devices stored for it; widgets left without a
        datastream leave the dashboard.

        Raises:
            TemplateNotFound, DatastreamNotInTemplate.
        """

        def remove(template: Template) -> Template:
            _find(template.datastreams, datastream_id, DatastreamNotInTemplate)
            kept = tuple(ds for ds in template.datastreams if ds.id != datastream_id)
            return replace(template, datastreams=kept)

        await self._change(caller, template_id, remove)

    async def add_event(
        self, caller: Scoped, template_id: int, settings: EventSettings
    ) -> TemplateEvent:
        """A new event with the next free id.

        Raises:
            TemplateNotFound, InvalidDefinition (a code or name already taken…).
        """
        created: list[TemplateEvent] = []

        def add(template: Template) -> Template:
            created.append(settings.event(EventId(_next_id(template.events))))
            return replace(template, events=(*template.events, created[0]))

        await self._change(caller, template_id, add)
        return created[0]

    async def update_event(
        self, caller: Scoped, template_id: int, event_id: int, settings: EventSettings
    ) -> TemplateEvent:
        """Replace an event's definition; its id stays, and so do logged occurrences.

        Raises:
            TemplateNotFound, EventNotInTemplate, InvalidDefinition.
        """
        updated = settings.event(EventId(event_id))

        def update(template: Template) -> Template:
            _find(template.events, event_id, EventNotInTemplate)
            events = tuple(updated if e.id == updated.id else e for e in template.events)
            return replace(template, events=events)

        await self._change(caller, template_id, update)
        return updated

    async def delete_event(self, caller: Scoped, template_id: int, event_id: int) -> None:
        """Remove an event definition; occurrences already logged stay on the timelines.

        Raises:
            TemplateNotFound, EventNotInTemplate.
        """

        def remove(template: Template) -> Template:
            _find(template.events, event_id, EventNotInTemplate)
            found = next(e for e in template.events if e.id == event_id)
            if found.is_system:
                # Online and Offline are always present (automations.md §1.6).
                raise InvalidDefinition(f"{found.code} is a system event and cannot be deleted")
            return replace(template, events=tuple(e for e in template.events if e.id != event_id))

        await self._change(caller, template_id, remove)

    async def add_metafield(
        self, caller: Scoped, template_id: int, settings: MetafieldSettings
    ) -> Metafield:
        """A new metadata field with the next free id; devices created from now on start at
        its default.

        Raises:
            TemplateNotFound, InvalidDefinition.
        """
        created: list[Metafield] = []

        def add(template: Template) -> Template:
            created.append(settings.metafield(MetafieldId(_next_id(template.metafields))))
            return replace(template, metafields=(*template.metafields, created[0]))

        await self._change(caller, template_id, add)
        return created[0]

    async def update_metafield(
        self, caller: Scoped, template_id: int, metafield_id: int, settings: MetafieldSettings
    ) -> Metafield:
        """Replace a metadata field's definition; devices keep their values.

        Raises:
            TemplateNotFound, MetafieldNotInTemplate, InvalidDefinition.
        """
        updated = settings.metafield(MetafieldId(metafield_id))

        def update(template: Template) -> Template:
            _find(template.metafields, metafield_id, MetafieldNotInTemplate)
            fields = tuple(updated if m.id == updated.id else m for m in template.metafields)
            return replace(template, metafields=fields)

        await self._change(caller, template_id, update)
        return updated

    async def delete_metafield(self, caller: Scoped, template_id: int, metafield_id: int) -> None:
        """Remove a metadata field with every device's value of it.

        Raises:
            TemplateNotFound, MetafieldNotInTemplate.
        """

        def remove(template: Template) -> Template:
            _find(template.metafields, metafield_id, MetafieldNotInTemplate)
            kept = tuple(m for m in template.metafields if m.id != metafield_id)
            return replace(template, metafields=kept)

        await self._change(caller, template_id, remove)

    async def set_dashboard(self, caller: Scoped, template_id: int, layout: object) -> Dashboard:
        """Store the web dashboard layout (console.md §3.3) after checking it against the
        template's datastreams.

        Raises:
            TemplateNotFound, InvalidDefinition (naming the rule the layout breaks).
        """
        parsed: list[Dashboard] = []

        def store(template: Template) -> Template:
            parsed.append(parse_dashboard(layout, template.datastreams))
            return replace(template, dashboard=parsed[0])

        await self._change(caller, template_id, store)
        return parsed[0]

    async def _change(self, caller: Scoped, template_id: int, edit: Edit) -> Template:
        """Apply ``edit`` to the stored template, store and announce the result.

        Raises:
            TemplateNotFound: missing, outside the caller's scope, or deleted meanwhile.
            InvalidDefinition: the edited template breaks a rule; nothing was stored.
        """
        in_scope = await template_in_scope(self._directory, caller, template_id)
        async with self._editing:
            async with self._store.transaction() as tx:
                stored = await tx.load_template(in_scope.id)
                if stored is None:  # deleted meanwhile
                    raise TemplateNotFound(in_scope.id)
                changed = _fitted(edit(stored))
                check_template(changed)
                erased = await _erase_outdated(tx, stored, changed)
                removed_fields = {m.id for m in stored.metafields} - {
                    m.id for m in changed.metafields
                }
                for metafield_id in removed_fields:
                    await tx.erase_metafield_values(changed.id, metafield_id)
                if not await tx.save_template(changed):
                    raise TemplateNotFound(changed.id)
            self._bus.publish(TemplateSaved(template=changed))
            for message in erased:
                self._bus.publish(message)
            self._announce_devices_without(changed.id, removed_fields)
        logger.info("template.saved template_id=%d", changed.id)
        return changed

    def _announce_devices_without(
        self, template_id: TemplateId, metafield_ids: Iterable[MetafieldId]
    ) -> None:
        """Announce the devices of the template without their values of removed fields."""
        removed = set(metafield_ids)
        if not removed:
            return
        for bound in self._directory.devices_of_template(template_id):
            device = bound.device
            kept = tuple((i, v) for i, v in device.metafield_values if i not in removed)
            self._bus.publish(DeviceSaved(device=replace(device, metafield_values=kept)))


def _fitted(template: Template) -> Template:
    """The template with its dashboard fitted to its datastreams as they are now."""
    if template.dashboard is None:
        return template
    return replace(template, dashboard=template.dashboard.fitted(template.datastreams))


async def _erase_outdated(
    tx: Transaction, before: Template, after: Template
) -> list[DatastreamErased]:
    """Erase what devices keep for datastreams that went or changed type; the announcements."""
    now = {ds.id: ds for ds in after.datastreams}
    messages = []
    for old in before.datastreams:
        new = now.get(old.id)
        if new is None or new.type is not old.type:
            device_ids = await tx.erase_datastream_data(before.id, old.id)
            messages.append(
                DatastreamErased(
                    template_id=before.id, datastream_id=old.id, device_ids=tuple(device_ids)
                )
            )
    return messages


def _next_id(children: Iterable[Datastream | TemplateEvent | Metafield]) -> int:
    """One past the highest id in use (ids start at 1)."""
    return max((child.id for child in children), default=0) + 1


def _find(
    children: Iterable[Datastream | TemplateEvent | Metafield],
    child_id: int,
    missing: type[PinbaseError],
) -> None:
    if all(child.id != child_id for child in children):
        raise missing(child_id)
