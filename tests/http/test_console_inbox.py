"""The console's Notifications page lists the signed-in user's push notifications from the
notification log (automations.md §5.3 "Inbox"), in process: its own rows only, those a
browser missed included, limit suppressions left out, newest first with an "Older" link."""

from collections.abc import Iterator

import pytest
from console_site import ADMIN, OTHER, USER, acme_and_other, sign_in

from inprocess import InProcessServer
from pinbase.domain.ids import OrgId
from pinbase.storage.notifications import NotificationRecord

PAGE = "/dashboard/notifications"
T0 = 1_760_000_000_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Acme and Other Corp, in process."""
    with acme_and_other(tmp_path_factory.mktemp("inbox")) as server:
        yield server


def user_of(site: InProcessServer, email: str) -> tuple[int, OrgId]:
    """The id and organization of the user with ``email``."""

    async def find() -> tuple[int, OrgId]:
        async with site.services.store.transaction() as tx:
            user = await tx.find_user_by_email(email)
        assert user is not None
        return int(user.id), user.org_id

    return site.run(find)


def record(user_id: int, org_id: OrgId, title: str, **fields: object) -> NotificationRecord:
    """A PUSH log row for ``user_id``, queued unless ``fields`` say otherwise."""
    values: dict[str, object] = {
        "created_at": T0,
        "org_id": org_id,
        "device_id": None,
        "source": "EVENT",
        "channel": "PUSH",
        "recipient": f"user:{user_id}",
        "user_id": user_id,
        "status": "QUEUED",
        "title": title,
        "body": f"{title} body",
        **fields,
    }
    return NotificationRecord(**values)  # type: ignore[arg-type]


def add(site: InProcessServer, *records: NotificationRecord) -> None:
    """Append rows to the notification log."""

    async def write() -> None:
        async with site.services.store.transaction() as tx:
            await tx.add_notification_records(records)

    site.run(write)


def test_the_page_lists_the_users_own_notifications(site: InProcessServer) -> None:
    """Queued, sent, failed and no-browser rows show, newest first; a limit suppression, an
    e-mail, another user's and another organization's rows do not."""
    user, acme = user_of(site, USER)
    admin, _ = user_of(site, ADMIN)
    other, other_org = user_of(site, OTHER)
    add(
        site,
        record(user, acme, "Queued one"),
        record(user, acme, "Sent one", status="SENT"),
        record(user, acme, "No browser", status="SUPPRESSED", reason="NO_PUSH_TARGET"),
        record(user, acme, "Too soon", status="SUPPRESSED", reason="MIN_INTERVAL"),
        record(user, acme, "By mail", channel="EMAIL"),
        record(admin, acme, "For the admin"),
        record(other, other_org, "Other tenant"),
    )
    with site.client() as http:
        sign_in(http, USER)
        page = http.get(PAGE).text
    listed = [t for t in ("No browser", "Sent one", "Queued one") if t in page]
    assert listed == ["No browser", "Sent one", "Queued one"]
    assert page.index("No browser") < page.index("Sent one") < page.index("Queued one")
    for hidden in ("Too soon", "By mail", "For the admin", "Other tenant"):
        assert hidden not in page
    assert "Enable notifications on this device" in page


def test_older_notifications_are_paged(site: InProcessServer) -> None:
    """Past 50 rows an "Older notifications" link shows the rest; a bad ``before`` is the
    first page."""
    email = "pager@acme.test"
    site.provision(
        {
            "organization": {"name": "Pager"},
            "users": [
                {"email": email, "name": "P", "roleId": 1, "password": "correct horse battery"}
            ],
        }
    )
    user, org = user_of(site, email)
    add(site, *(record(user, org, f"Number {n:02d}.") for n in range(60)))
    with site.client() as http:
        sign_in(http, email)
        first = http.get(PAGE).text
        assert "Number 59." in first
        assert "Number 10." in first
        assert "Number 09." not in first
        link = first.split('href="?before=')[1].split('"')[0]
        second = http.get(f"{PAGE}?before={link}").text
        assert "Number 09." in second
        assert "Number 00." in second
        assert "Number 10." not in second
        assert "Older notifications" not in second
        assert "Number 59." in http.get(f"{PAGE}?before=99999999999999999999").text


def test_signed_out_visitors_are_sent_to_sign_in(site: InProcessServer) -> None:
    """Without a session the page redirects to the sign-in page."""
    with site.client() as http:
        answer = http.get(PAGE)
    assert answer.status_code in (302, 303)
    assert "/dashboard/login" in answer.headers["location"]
