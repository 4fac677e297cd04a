"""``SqlOAuthQueries``: OAuth clients and the tokens issued to them. A mixin of ``SqlTransaction``
over its ``self._db``; only hashes of secrets and tokens are stored.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import OAuthClient
from pinbase.storage import schema
from pinbase.storage.base import StoredToken


class SqlOAuthQueries:
    """OAuth client and token reads and writes over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]
    """``SqlTransaction._insert_returning_id``: insert one row, return its new ``id``."""

    async def find_oauth_client(self, client_id: str) -> OAuthClient | None:
        """The OAuth client with the public ``client_id``, or None."""
        table = schema.oauth_clients
        row = (await self._db.execute(select(table).where(table.c.client_id == client_id))).first()
        return None if row is None else oauth_client_from_row(row)

    async def list_oauth_clients(self) -> list[OAuthClient]:
        """Every OAuth client, by id."""
        rows = await self._db.execute(select(schema.oauth_clients).order_by("id"))
        return [oauth_client_from_row(row) for row in rows]

    async def add_oauth_client(
        self, *, org_id: OrgId, name: str, client_id: str, secret_hash: str, created_at: int
    ) -> OAuthClient:
        """Create an OAuth client; only the secret's hash is given and kept."""
        values = {
            "org_id": org_id,
            "name": name,
            "client_id": client_id,
            "secret_hash": secret_hash,
            "created_at": created_at,
        }
        new_id = await self._insert_returning_id(schema.oauth_clients, values)
        return OAuthClient(
            id=new_id,
            org_id=org_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            created_at=created_at,
        )

    async def add_oauth_tokens(self, tokens: Sequence[StoredToken]) -> None:
        """Record issued tokens."""
        if tokens:
            await self._db.execute(
                schema.oauth_tokens.insert(),
                [
                    {
                        "token_hash": t.token_hash,
                        "kind": t.kind,
                        "client_id": t.client_id,
                        "org_id": t.org_id,
                        "expires_at": t.expires_at,
                        "created_at": t.created_at,
                        "revoked": t.revoked,
                    }
                    for t in tokens
                ],
            )

    async def find_oauth_token(self, token_hash: str) -> StoredToken | None:
        """The token whose hash is ``token_hash`` (revoked and expired ones included), or None."""
        table = schema.oauth_tokens
        row = (
            await self._db.execute(
                select(
                    table.c.token_hash,
                    table.c.kind,
                    table.c.client_id,
                    table.c.org_id,
                    table.c.expires_at,
                    table.c.created_at,
                    table.c.revoked,
                ).where(table.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return StoredToken(
            token_hash=row.token_hash,
            kind=row.kind,
            client_id=row.client_id,
            org_id=OrgId(row.org_id),
            expires_at=row.expires_at,
            created_at=row.created_at,
            revoked=row.revoked,
        )

    async def delete_oauth_client(self, client_id: str) -> bool:
        """Delete the client with the public ``client_id`` and every token issued to it; False
        when there is no such client."""
        if "\0" in client_id:
            return False  # as in ``find_oauth_client``
        tokens, clients = schema.oauth_tokens, schema.oauth_clients
        await self._db.execute(delete(tokens).where(tokens.c.client_id == client_id))
        result = await self._db.execute(delete(clients).where(clients.c.client_id == client_id))
        return bool(result.rowcount)

    async def revoke_oauth_token(self, token_hash: str) -> bool:
        """Revoke a token; True only for the one call that found it not yet revoked."""
        table = schema.oauth_tokens
        result = await self._db.execute(
            update(table)
            .where(table.c.token_hash == token_hash, table.c.revoked.is_(False))
            .values(revoked=True)
        )
        return bool(result.rowcount == 1)

    async def delete_expired_oauth_tokens(self, *, before: int) -> int:
        """Delete tokens that expired before ``before``; return how many."""
        table = schema.oauth_tokens
        result = await self._db.execute(delete(table).where(table.c.expires_at < before))
        return int(result.rowcount)


def oauth_client_from_row(row: Row[Any]) -> OAuthClient:
    return OAuthClient(
        id=row.id,
        org_id=OrgId(row.org_id),
        name=row.name,
        client_id=row.client_id,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
    )
