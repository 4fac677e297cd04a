"""The one owner of the in-memory state every request reads: ``CachedState``.

Theory of operation. Four caches answer the hot paths without a query: the ``Directory``
(organizations, OAuth clients, templates, devices by token, id and organization, organization
subtrees), ``Telemetry``'s current values, ``Properties`` and ``OAuth``'s access tokens. A use
case that changes organizations, OAuth clients, users, templates or devices commits to storage
first, then announces what changed as one ``services.changes`` message on the ``Bus``.
``CachedState`` subscribes to every change type, and its ``apply`` is the only code that changes
those caches; other subscribers react to the same message (``DeviceSessions`` closes a deleted
device's live connection). Committing before announcing means memory never serves what storage
does not hold; a crash in between leaves memory behind storage, and a restart reloads it.

Removing a thing revokes everything derived from it in the same step, so the very next request
is refused:

- ``OrganizationRemoved``: the organization, its OAuth clients and templates leave the
  directory and every cached access token of the organization is dropped (the database rows went
  in the deleting transaction). Its users are announced one ``UserRemoved`` each, just before.
- ``OAuthClientRemoved``: the client and its cached access tokens.
- ``UserRemoved``: devices it owned lose their owner. Its console sessions and invitation link
  went in the deleting transaction, and sessions are read from the database on every request
  (``services.console_sessions``), so nothing of them is cached here, on any node; a live
  console socket reads its session again every ``SESSION_CHECK_S`` and then closes.
- ``DeviceRemoved``: its token stops resolving, its current values and properties are dropped.
- ``TemplateSaved``: every device of the template is bound to the new version at once, so a
  device writing to a datastream created a moment ago is accepted on its next write.
- ``DatastreamErased``: the current values and properties the devices kept for a datastream that
  went (or changed its data type) are dropped.

Read-through fills stay inside the caches themselves (a token, device or client the directory
does not know is looked up in the database once; ``OAuth`` loads a token on its first use):
they copy what storage holds and change nothing.

Several nodes. With a broker (``broker_url``, issue #11) every change announced on any node of
the installation reaches the ``CachedState`` of every node (``remote=True``), and so do the
values and properties stored on another node (``ValuesChanged``, ``PropertyChanged``): this
class hands them to ``Telemetry.learn`` and ``Properties.learn``, the caches' only other
mutation points. A change made by a process outside the installation's bus on the same database
(``pinbase oauth delete-client``) cannot be announced here: additions are found by the read-
through lookups, and cached access tokens are checked against the database again after
``access_token_recheck_s``, so a token the other process revoked (with its client or
organization) is refused within that interval (docs/decisions.md).
"""

from typing import assert_never

from pinbase.domain.ids import DeviceId
from pinbase.services.bus import (
    Bus,
    PropertyChanged,
    PropertyErased,
    ValuesChanged,
    ValuesImported,
)
from pinbase.services.changes import (
    CHANGES,
    Change,
    CurrentValueErased,
    DatastreamErased,
    DeviceDataErased,
    DeviceRemoved,
    DeviceSaved,
    OAuthClientRemoved,
    OrganizationRemoved,
    OrganizationSaved,
    TemplateRemoved,
    TemplateSaved,
    UserRemoved,
)
from pinbase.services.directory import Directory
from pinbase.services.oauth import OAuth
from pinbase.services.properties import Properties
from pinbase.services.telemetry import Telemetry
from pinbase.storage.base import Store


class CachedState:
    """Applies every announced change to the directory, current values, properties and the
    OAuth token cache; subscribed to the bus from construction until ``close``."""

    def __init__(
        self,
        bus: Bus,
        *,
        directory: Directory,
        telemetry: Telemetry,
        properties: Properties,
        oauth: OAuth,
    ) -> None:
        self._directory = directory
        self._telemetry = telemetry
        self._properties = properties
        self._oauth = oauth
        # Changes announced on any node apply here; values and properties stored on this node
        # raised their own caches already, those stored on another node are learnt here.
        self._unsubscribe = (
            *(bus.subscribe(topic, self.apply, remote=True) for topic in CHANGES),
            bus.subscribe(ValuesChanged, telemetry.learn, remote=True, local=False),
            bus.subscribe(ValuesImported, telemetry.learn, remote=True, local=False),
            bus.subscribe(PropertyChanged, properties.learn, remote=True, local=False),
            bus.subscribe(PropertyErased, properties.learn, remote=True, local=False),
        )

    def apply(self, change: Change) -> None:
        """Bring every cache in line with ``change``, already committed to storage."""
        match change:
            case OrganizationSaved(organization=organization):
                self._directory.add_organization(organization)
            case OrganizationRemoved(org_id=org_id):
                self._directory.remove_organization(org_id)
                self._oauth.forget_organization(org_id)
            case OAuthClientRemoved(client_id=client_id):
                self._directory.remove_oauth_client(client_id)
                self._oauth.forget_client(client_id)
            case UserRemoved(user_id=user_id):
                self._directory.disown(user_id)
            case TemplateSaved(template=template):
                self._directory.add_template(template)
            case TemplateRemoved(template_id=template_id):
                self._directory.remove_template(template_id)
            case DatastreamErased(datastream_id=datastream_id, device_ids=device_ids):
                for device_id in device_ids:
                    self._telemetry.forget_value(device_id, datastream_id)
                    self._properties.forget_datastream(device_id, datastream_id)
            case DeviceSaved(device=device):
                self._directory.add_device(device)
            case DeviceRemoved(device_id=device_id):
                self._forget_data(device_id)
                self._directory.remove_device(device_id)
            case DeviceDataErased(device_id=device_id):
                self._forget_data(device_id)
            case CurrentValueErased(device_id=device_id, datastream_id=datastream_id):
                self._telemetry.forget_value(device_id, datastream_id)
            case _:
                assert_never(change)

    async def reload(self, store: Store) -> None:
        """Replace every cache with what storage holds now: after this node lost its link to
        the other nodes (the broker reconnected), it may have missed any change. The broker
        hands on no message before this returns, so none received since is lost."""
        async with store.transaction() as tx:
            catalog = await tx.load_catalog()
            values = await tx.load_current_values()
            properties = await tx.load_all_properties()
        self._directory.load(catalog)
        self._telemetry.reload(values)
        self._properties.load(properties)
        self._oauth.forget_all()

    def close(self) -> None:
        """Stop listening to the bus (at shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _forget_data(self, device_id: DeviceId) -> None:
        """Drop the device's current values and properties (erased in the database)."""
        bound = self._directory.by_id(device_id)
        if bound is not None:
            self._telemetry.forget(device_id, [ds.id for ds in bound.template.datastreams])
        self._properties.forget(device_id)
