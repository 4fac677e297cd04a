"""The OAuth part of the storage contract: clients and the tokens issued to them, kept as hashes.

No SQL here; ``storage.sql_oauth`` implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import OAuthClient

if TYPE_CHECKING:  # storage.base imports this module for the bases of Transaction
    from pinbase.storage.base import StoredToken


class OAuthRepository(Protocol):
    """OAuth client and token reads and writes inside one transaction."""

    async def find_oauth_client(self, client_id: str) -> OAuthClient | None:
        """The OAuth client with the public ``client_id``, or None."""
        ...

    async def list_oauth_clients(self) -> list[OAuthClient]:
        """Every OAuth client, by id."""
        ...

    async def add_oauth_client(
        self, *, org_id: OrgId, name: str, client_id: str, secret_hash: str, created_at: int
    ) -> OAuthClient:
        """Create an OAuth client; only the secret's hash is given and kept."""
        ...

    async def add_oauth_tokens(self, tokens: Sequence[StoredToken]) -> None:
        """Record issued tokens."""
        ...

    async def find_oauth_token(self, token_hash: str) -> StoredToken | None:
        """The token whose hash is ``token_hash`` (revoked and expired ones included), or None."""
        ...

    async def delete_oauth_client(self, client_id: str) -> bool:
        """Delete the client with the public ``client_id`` and every token issued to it; False
        when there is no such client."""
        ...

    async def revoke_oauth_token(self, token_hash: str) -> bool:
        """Revoke a token; True only for the one call that found it not yet revoked.

        Refresh-token rotation relies on this: of two requests racing with one refresh token,
        exactly one sees True.
        """
        ...

    async def delete_expired_oauth_tokens(self, *, before: int) -> int:
        """Delete tokens that expired before ``before``; return how many."""
        ...
