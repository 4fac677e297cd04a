"""A user's notification list, the console's Notifications page (automations.md §5.3 "Inbox").

The list is read from the notification log (§5.4) that the planner writes: every PUSH message
meant for the user, whether a browser received it or not, so that a missed push loses nothing.
Rows the planner suppressed because of a limit (the event's counter or period, the minimum gap,
the hourly quota, a mute) are not notifications the user was meant to see and are left out;
those suppressed only because the user has no browser (``NO_PUSH_TARGET``) or push is off
(``CHANNEL_DISABLED``) are listed.
"""

from dataclasses import dataclass

from pinbase.domain.ids import OrgId
from pinbase.storage.base import Store
from pinbase.storage.notifications import NotificationRecord

PUSH = "PUSH"
SUPPRESSED = "SUPPRESSED"
LISTED_SUPPRESSIONS = frozenset({"NO_PUSH_TARGET", "CHANNEL_DISABLED"})
"""Suppression reasons whose message still belongs in the list (module docstring)."""
MAX_PAGE = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPage:
    """Newest first; ``older`` is the ``before`` of the next page, or None at the end."""

    entries: list[NotificationRecord]
    older: int | None


def is_listed(record: NotificationRecord) -> bool:
    """Whether a PUSH log row is a notification the user was meant to see."""
    return record.status != SUPPRESSED or record.reason in LISTED_SUPPRESSIONS


class NotificationInbox:
    """Reads a user's notifications from the log."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(
        self, user_id: int, org_ids: frozenset[OrgId], *, before: int | None, limit: int = MAX_PAGE
    ) -> InboxPage:
        """The user's notifications with ids below ``before``, newest first.

        Rows are kept per organization (the device's); ``org_ids`` are those of the caller's
        scope, so a user who left an organization's scope no longer sees its rows.
        """
        limit = max(1, min(limit, MAX_PAGE))
        found: list[NotificationRecord] = []
        async with self._store.transaction() as tx:
            for org_id in sorted(org_ids):
                found += await tx.list_notification_records(
                    org_id,
                    user_id=user_id,
                    channel=PUSH,
                    before_id=before,
                    limit=limit,
                )
        found.sort(key=lambda record: record.id, reverse=True)
        page = found[:limit]
        older = page[-1].id if len(found) > limit or len(page) == limit else None
        return InboxPage(entries=[r for r in page if is_listed(r)], older=older)
