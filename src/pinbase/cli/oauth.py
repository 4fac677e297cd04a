"""``pinbase oauth``: OAuth2 clients of the Platform API.

``create-client`` prints the new client's id and secret once, as JSON; only a hash of the
secret is stored. A server running on the same data folder finds the new client on first use.
``delete-client`` deletes a client with every token issued to it; a server running on the same
database refuses those tokens within its ``access_token_recheck_s`` (5 s by default).
"""

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pinbase import runtime
from pinbase.cli.options import DatabaseOption, DataOption
from pinbase.domain.ids import OrgId
from pinbase.services.clock import system_clock
from pinbase.services.oauth import create_client, delete_client, list_clients
from pinbase.settings import Settings, load_settings

oauth_app = typer.Typer(help="OAuth2 clients of the Platform API.", no_args_is_help=True)
err = Console(stderr=True)


@oauth_app.command("create-client")
def create_client_command(
    org: Annotated[int, typer.Option("--org", help="Id of the client's home organization.")],
    name: Annotated[str, typer.Option("--name", help="A name to recognise the client by.")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
) -> None:
    """Create a client in an organization; print its id and secret (shown only this once)."""
    if not 1 <= len(name) <= 100:
        err.print("[red]the name must have 1 to 100 characters[/red]")
        raise typer.Exit(2)
    settings = load_settings(None, data_dir=data, database_url=database_url)
    created = asyncio.run(_create(settings, org, name))
    if created is None:
        err.print(f"[red]organization {org} does not exist[/red]")
        raise typer.Exit(2)
    typer.echo(json.dumps(created, indent=2))


@oauth_app.command("delete-client")
def delete_client_command(
    client_id: Annotated[str, typer.Argument(help="The public client id to delete.")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
) -> None:
    """Delete a client and revoke every token issued to it."""
    settings = load_settings(None, data_dir=data, database_url=database_url)
    if not asyncio.run(_delete(settings, client_id)):
        err.print("[red]no such client[/red]")
        raise typer.Exit(2)
    typer.echo(json.dumps({"deleted": client_id}))


@oauth_app.command("list-clients")
def list_clients_command(
    data: DataOption = Path("data"), database_url: DatabaseOption = None
) -> None:
    """Print every client as JSON: id, name, organization and creation time (never secrets)."""
    settings = load_settings(None, data_dir=data, database_url=database_url)
    typer.echo(json.dumps(asyncio.run(_list(settings)), indent=2))


async def _create(settings: Settings, org_id: int, name: str) -> dict[str, Any] | None:
    store = await runtime.open_store(settings)
    try:
        created = await create_client(store, org_id=OrgId(org_id), name=name, clock=system_clock)
    finally:
        await store.close()
    if created is None:
        return None
    client, secret = created
    return {
        "clientId": client.client_id,
        "clientSecret": secret,
        "name": client.name,
        "orgId": client.org_id,
    }


async def _delete(settings: Settings, client_id: str) -> bool:
    store = await runtime.open_store(settings)
    try:
        return await delete_client(store, client_id)
    finally:
        await store.close()


async def _list(settings: Settings) -> list[dict[str, Any]]:
    store = await runtime.open_store(settings)
    try:
        clients = await list_clients(store)
    finally:
        await store.close()
    return [
        {"clientId": c.client_id, "name": c.name, "orgId": c.org_id, "createdAt": c.created_at}
        for c in clients
    ]
