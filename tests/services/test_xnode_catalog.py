"""Two nodes' services in one process on one PostgreSQL database, linked by an in-process broker:
a catalog change made on node B (organization, user, OAuth client, template created or deleted)
reaches node A's caches, so A serves or refuses what B changed (issue #11, point 2)."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nodes import two_nodes

from pinbase.domain.ids import OrgId
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.scope import TemplateNotFound
from pinbase.services.users import OrganizationNotFound, Profile

pytestmark = pytest.mark.postgres

WAIT_S = 10.0

RECHECK_S = 300.0
"""Cached access tokens are trusted this long: a refusal within the test comes from the change
message reaching the node, not from the periodic re-read of the token."""


@dataclass
class Nodes:
    """Node A and node B of one installation, and the demo organization's id."""

    a: Services
    b: Services
    org_id: OrgId

    def caller(self, node: Services) -> Caller:
        """The demo organization's Platform API caller as ``node`` sees it now."""
        return Caller(client_id="t", org_id=self.org_id, scope=node.directory.subtree(self.org_id))


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``await check()`` holds (fails after ``WAIT_S``)."""
    for _ in range(round(WAIT_S / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"not true after {WAIT_S} s")


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str) -> AsyncIterator[Nodes]:
    """Both nodes' services on a fresh database with the demo organization, linked in process."""
    network = LocalNetwork()
    async with two_nodes(
        tmp_path,
        postgres_url,
        broker=lambda: LocalBroker(network),
        access_token_recheck_s=RECHECK_S,
    ) as (a, b):
        created: dict[str, Any] = await provision(
            b.store, parse_spec(DEMO_SPEC), clock=b.clock, bus=b.bus
        )
        bound = await b.directory.by_token(created["devices"][0]["token"])
        assert bound is not None
        org_id = bound.device.org_id
        await eventually(lambda: _true(a.directory.organization(org_id) is not None))
        yield Nodes(a=a, b=b, org_id=org_id)


async def _true(value: bool) -> bool:
    return value


async def token_on(node: Services, client_id: str) -> str:
    """An access token of ``client_id`` issued and cached by ``node``."""
    client = await node.oauth.load_client(client_id)
    assert client is not None
    access = secrets.token_urlsafe(32)
    await node.oauth.persist(node.oauth.records(client, access=access, refresh=None))
    assert await node.oauth.authenticate(access) is not None
    return access


async def refused_on(node: Services, access: str) -> bool:
    """Whether ``node`` refuses the access token."""
    return await node.oauth.authenticate(access) is None


async def new_org(nodes: Nodes, node: Services) -> OrgId:
    """A sub-organization of the demo organization, created through ``node``."""
    made = await node.organizations.create(
        nodes.caller(node),
        parent_id=None,
        name="Branch",
        description=None,
        type=None,
        tz=None,
        unit_system=None,
        phone_number=None,
    )
    return OrgId(made.id)


async def test_an_organization_created_on_one_node_is_usable_on_the_other(nodes: Nodes) -> None:
    """A sub-organization created on B is in A's directory and A's callers' scope: A creates a
    user in it."""
    org_id = await new_org(nodes, nodes.b)
    await eventually(lambda: _true(org_id in nodes.a.directory.subtree(nodes.org_id)))
    user = await nodes.a.users.create_in_org(
        nodes.caller(nodes.a),
        org_id=org_id,
        role_id=1,
        email="branch@example.com",
        name="Branch admin",
        client_hash="x" * 44,
        profile=Profile(),
    )
    assert user.org_id == org_id


async def test_an_organization_deleted_on_one_node_is_refused_on_the_other(nodes: Nodes) -> None:
    """Deleting a sub-organization on B drops it from A's directory, and an access token of its
    client that A cached is refused on A at once."""
    org_id = await new_org(nodes, nodes.b)
    await eventually(lambda: _true(nodes.a.directory.organization(org_id) is not None))
    branch = Caller(client_id="t", org_id=org_id, scope=frozenset({org_id}))
    client, _secret = await nodes.b.oauth.add_client(branch, "branch client")
    access = await token_on(nodes.a, client.client_id)
    await nodes.b.organizations.delete(nodes.caller(nodes.b), org_id)
    await eventually(lambda: refused_on(nodes.a, access))
    assert nodes.a.directory.organization(org_id) is None
    assert org_id not in nodes.a.directory.subtree(nodes.org_id)
    with pytest.raises(OrganizationNotFound):
        await nodes.a.users.create_in_org(
            nodes.caller(nodes.a),
            org_id=org_id,
            role_id=1,
            email="late@example.com",
            name="Too late",
            client_hash="x" * 44,
            profile=Profile(),
        )


async def test_an_oauth_client_deleted_on_one_node_has_its_token_refused_on_the_other(
    nodes: Nodes,
) -> None:
    """A token A issued and cached is refused on A as soon as B deletes its client (without
    waiting for ``access_token_recheck_s``); the client is gone from A's directory."""
    client, _secret = await nodes.b.oauth.add_client(nodes.caller(nodes.b), "doomed")
    access = await token_on(nodes.a, client.client_id)
    kept, _secret = await nodes.b.oauth.add_client(nodes.caller(nodes.b), "kept")
    other = await token_on(nodes.a, kept.client_id)
    assert await nodes.b.oauth.delete_client(client.client_id)
    await eventually(lambda: refused_on(nodes.a, access))
    assert nodes.a.directory.oauth_client(client.client_id) is None
    assert await nodes.a.oauth.authenticate(other) is not None


async def test_a_user_created_on_one_node_signs_in_on_the_other_until_deleted(
    nodes: Nodes,
) -> None:
    """A user made on B with a new client organization gets a console session on A whose scope
    is that organization; deleted on B, the session is refused on A and the user's device on A
    has no owner any more."""
    user = await nodes.b.users.create_with_client_org(
        nodes.caller(nodes.b),
        email="client@example.com",
        name="Client",
        client_hash="y" * 44,
        organization_name="Client org",
        profile=Profile(),
    )
    assert user is not None
    await eventually(lambda: _true(nodes.a.directory.organization(OrgId(user.org_id)) is not None))
    session = await nodes.a.console_sessions.start(user)
    assert session.token is not None
    resolved = await nodes.a.console_sessions.resolve(session.token)
    assert resolved is not None
    assert resolved.caller.scope == frozenset({user.org_id})
    template = nodes.a.directory.templates_in([nodes.org_id])[0]
    device = await nodes.b.device_admin.create(
        nodes.caller(nodes.b),
        org_id=user.org_id,
        template_code=template.code,
        name="Client's device",
        owner_id=user.id,
    )
    await eventually(
        lambda: _true(
            (bound := nodes.a.directory.by_id(device.device.id)) is not None
            and bound.device.owner_user_id == user.id
        )
    )
    await nodes.b.users.delete(nodes.caller(nodes.b), user.id)
    await eventually(
        lambda: _true(
            (bound := nodes.a.directory.by_id(device.device.id)) is not None
            and bound.device.owner_user_id is None
        )
    )
    assert await nodes.a.console_sessions.resolve(session.token) is None


async def test_a_template_created_then_deleted_on_one_node_follows_on_the_other(
    nodes: Nodes,
) -> None:
    """A template created on B is found through A; deleted on B, A answers it is not found."""
    template = await nodes.b.templates.create(
        nodes.caller(nodes.b), org_id=None, name="Spare", description=None
    )
    await eventually(lambda: _true(nodes.a.directory.template(template.id) is not None))
    assert (await nodes.a.templates.find(nodes.caller(nodes.a), template.id)).name == "Spare"
    await nodes.b.templates.delete(nodes.caller(nodes.b), template.id)
    await eventually(lambda: _true(nodes.a.directory.template(template.id) is None))
    with pytest.raises(TemplateNotFound):
        await nodes.a.templates.find(nodes.caller(nodes.a), template.id)
    assert nodes.a.directory.template_by_code(template.code) is None
