"""Organizations form a tree; an OAuth client acts for one of them (data-model.md §1.2)."""

from dataclasses import dataclass

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import OrgId

DESCRIPTION = r"^[^/\\<>\x00]*$"
"""An organization's description (PLT-ORG-04): no ``/ \\ < >`` and no NUL."""
MAX_DESCRIPTION = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    """An organization; ``parent_id`` is None for a root."""

    id: OrgId
    name: str
    parent_id: OrgId | None = None
    description: str | None = None
    created_at: int = 0

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 100:
            raise InvalidDefinition("organization name must be 1..100 characters")


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthClient:
    """An OAuth2 client of an organization; only a hash of its secret is ever kept."""

    id: int
    org_id: OrgId
    name: str
    client_id: str
    secret_hash: str
    created_at: int = 0
