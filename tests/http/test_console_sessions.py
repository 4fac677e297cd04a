"""The web console's sign-in, sessions, CSRF rule and routing, in process (issue #9 items 1, 2)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import (
    ADMIN,
    CSRF,
    OTHER,
    PASSWORD,
    USER,
    acme_and_other,
    acme_spec,
    sign_in,
)

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import OrgId
from pinbase.services.clock import DAY_MS, system_clock
from pinbase.services.oauth import Caller
from pinbase.services.organizations import Organizations
from pinbase.services.users import Users


class HandClock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = system_clock()

    def __call__(self) -> int:
        return self.now


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One application with Acme and Other Corp provisioned."""
    with acme_and_other(tmp_path_factory.mktemp("console")) as server:
        yield server


@pytest.fixture
def http(site: InProcessServer) -> Iterator[httpx.Client]:
    """A fresh client (an empty cookie jar) for the site."""
    with site.client() as client:
        yield client


def platform_caller(server: InProcessServer, email: str) -> Caller:
    """A Platform API caller of the organization ``email`` belongs to."""

    async def find() -> Caller:
        async with server.services.store.transaction() as tx:
            user = await tx.find_user_by_email(email)
        assert user is not None
        org = OrgId(user.org_id)
        return Caller(client_id="test", org_id=org, scope=server.services.directory.subtree(org))

    return server.run(find)


def users_of(server: InProcessServer) -> Users:
    """The Platform API's user use cases over the server's services."""
    s = server.services
    return Users(s.store, s.directory, s.bus, s.clock)


def test_root_redirects_to_the_console(http: httpx.Client) -> None:
    """``/`` answers a redirect to ``/dashboard``."""
    answer = http.get("/")
    assert answer.status_code == 302
    assert answer.headers["location"] == "/dashboard"


def test_console_paths_never_reach_the_legacy_routes(http: httpx.Client) -> None:
    """``/dashboard/x`` and ``/dashboard/x/v1`` (a legacy ``/{token}/pin`` shape) answer the
    console's HTML 404, not the legacy API's plain-text "Invalid token."."""
    sign_in(http, ADMIN)
    for path in ("/dashboard/x/v1", "/dashboard/x/update/v1", "/dashboard/nothing-here"):
        answer = http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "Invalid token" not in answer.text


def test_console_json_paths_answer_json_errors(http: httpx.Client) -> None:
    """An unknown ``/dashboard/api/…`` path answers 404 in the JSON error shape."""
    answer = http.get("/dashboard/api/nothing")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"message": "There is nothing here."}}


def test_pages_need_a_session(http: httpx.Client) -> None:
    """Without a session the device list sends the browser to the sign-in page."""
    answer = http.get("/dashboard")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


def test_sign_in_sets_a_locked_down_cookie(http: httpx.Client) -> None:
    """The session cookie is HttpOnly, SameSite=Lax, limited to /dashboard, and not Secure over
    plain http."""
    answer = http.post("/dashboard/login", data={"email": ADMIN, "password": PASSWORD})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("pinbase_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/dashboard;" in cookie
    assert "SameSite=Lax" in cookie
    assert "secure" not in attributes


def test_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    """With an https ``public_url`` (a TLS proxy in front) the cookie is Secure."""
    with in_process_server(tmp_path, public_url="https://iot.example.org") as server:
        server.provision(acme_spec())
        with server.client() as http:
            answer = http.post("/dashboard/login", data={"email": ADMIN, "password": PASSWORD})
    assert answer.status_code == 303
    assert answer.headers["set-cookie"].endswith("; Secure")


def test_wrong_password_does_not_sign_in(http: httpx.Client) -> None:
    """A wrong password answers 401 with the form again and no cookie; an unknown address
    answers the same."""
    for email in (ADMIN, "nobody@acme.test"):
        answer = http.post("/dashboard/login", data={"email": email, "password": "wrong"})
        assert answer.status_code == 401
        assert "Wrong email or password." in answer.text
        assert "set-cookie" not in answer.headers
    assert http.get("/dashboard").status_code == 303


def test_state_changes_need_the_csrf_token(http: httpx.Client) -> None:
    """Signing out without the session's CSRF token (or with another) answers 403 and keeps the
    session; with it, the session ends."""
    token = sign_in(http, ADMIN)
    assert http.post("/dashboard/logout").status_code == 403
    assert http.post("/dashboard/logout", data={"csrf_token": "forged"}).status_code == 403
    assert http.post("/dashboard/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert http.get("/dashboard").status_code == 200
    answer = http.post("/dashboard/logout", headers={"X-CSRF-Token": token})
    assert answer.status_code == 303
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert http.get("/dashboard").status_code == 303


def test_signed_out_cookie_stays_dead(site: InProcessServer, http: httpx.Client) -> None:
    """A session cookie kept after signing out (copied elsewhere) no longer signs in."""
    token = sign_in(http, ADMIN)
    kept = http.cookies["pinbase_session"]
    http.post("/dashboard/logout", data={"csrf_token": token})
    with site.client() as thief:
        thief.cookies.set("pinbase_session", kept)
        assert thief.get("/dashboard").status_code == 303


def test_cross_site_sign_in_is_refused(http: httpx.Client) -> None:
    """A sign-in form posted from another site answers 403 (no login CSRF)."""
    answer = http.post(
        "/dashboard/login",
        data={"email": ADMIN, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    same = http.post(
        "/dashboard/login",
        data={"email": ADMIN, "password": PASSWORD},
        headers={"Origin": "http://pinbase.test"},
    )
    assert same.status_code == 303
    fetched = http.post(
        "/dashboard/login",
        data={"email": ADMIN, "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://pinbase.test"},
    )
    assert fetched.status_code == 403


def test_too_large_console_request_answers_an_html_413(http: httpx.Client) -> None:
    """A sign-in body over the request limit answers 413 as a console page."""
    answer = http.post("/dashboard/login", content=b"x" * (2 * 1024 * 1024 + 1))
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")


def test_stylesheet_is_cached_for_good_under_its_hash(http: httpx.Client) -> None:
    """The login page links ``app.css?v=<hash>``, served with a year-long immutable cache."""
    page = http.get("/dashboard/login")
    assert page.status_code == 200
    start = page.text.index("/dashboard/static/app.css?v=")
    url = page.text[start : page.text.index('"', start)]
    css = http.get(url)
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-type"].startswith("text/css")


def test_session_expires_unused_and_slides_with_use(tmp_path: Path) -> None:
    """A session used within its lifetime lives on past the first expiry; one left unused for
    longer than ``console_session_days`` is refused."""
    clock = HandClock()
    with in_process_server(tmp_path, clock=clock, console_session_days=30) as server:
        server.provision(acme_spec())
        with server.client() as http:
            sign_in(http, ADMIN)
            clock.now += 20 * DAY_MS
            renewed = http.get("/dashboard")
            assert renewed.status_code == 200
            assert "pinbase_session=" in renewed.headers["set-cookie"]
            clock.now += 20 * DAY_MS  # 40 days after signing in, 20 after the last use
            assert http.get("/dashboard").status_code == 200
            clock.now += 31 * DAY_MS
            assert http.get("/dashboard").status_code == 303


def test_sign_in_survives_a_restart(tmp_path: Path) -> None:
    """Sessions live in the database: a cookie keeps working after the server restarts."""
    with in_process_server(tmp_path) as server:
        server.provision(acme_spec())
        with server.client() as http:
            sign_in(http, ADMIN)
            kept = http.cookies["pinbase_session"]
    with in_process_server(tmp_path) as server, server.client() as http:
        http.cookies.set("pinbase_session", kept)
        assert http.get("/dashboard").status_code == 200


def test_failed_sign_ins_are_slowed_but_a_right_password_still_works(tmp_path: Path) -> None:
    """Past ``login_failures_limit`` failures the answer says further attempts are slowed; the
    right password then still signs in at once."""
    with in_process_server(tmp_path, login_failures_limit=2, login_delay_max_s=0.01) as server:
        server.provision(acme_spec())
        with server.client() as http:
            answers = [
                http.post("/dashboard/login", data={"email": ADMIN, "password": f"bad{n}"})
                for n in range(3)
            ]
            assert [a.status_code for a in answers] == [401, 401, 401]
            assert "answered more slowly" not in answers[1].text
            assert "answered more slowly" in answers[2].text
            sign_in(http, ADMIN)


def test_deleting_a_user_ends_its_sessions_at_once(tmp_path: Path) -> None:
    """Once a user is deleted, the very next request with its cookie is not signed in."""
    with in_process_server(tmp_path) as server:
        server.provision(acme_spec())
        with server.client() as http:
            sign_in(http, USER)
            assert http.get("/dashboard").status_code == 200
            user_id = _user_id(server, USER)
            caller = platform_caller(server, ADMIN)
            server.run(lambda: users_of(server).delete(caller, user_id))
            assert http.get("/dashboard").status_code == 303


def test_deleting_an_organization_ends_its_users_sessions(tmp_path: Path) -> None:
    """Deleting a sub-organization ends the sessions of the users it held."""
    with in_process_server(tmp_path) as server:
        server.provision(acme_spec())
        s = server.services
        caller = platform_caller(server, ADMIN)
        organizations = Organizations(s.store, s.directory, s.bus, s.clock)
        branch = server.run(
            lambda: organizations.create(
                caller,
                parent_id=None,
                name="Branch",
                description=None,
                type=None,
                tz=None,
                unit_system=None,
                phone_number=None,
            )
        )
        spec: dict[str, Any] = {
            "organization": {"name": "Spare"},
            "users": [
                {
                    "email": "branch@acme.test",
                    "name": "Bo Branch",
                    "roleId": 1,
                    "password": PASSWORD,
                    "org": branch.id,
                }
            ],
        }
        server.provision(spec)
        with server.client() as http:
            sign_in(http, "branch@acme.test")
            caller = platform_caller(server, ADMIN)  # its scope now holds the branch
            server.run(lambda: organizations.delete(caller, branch.id))
            assert http.get("/dashboard").status_code == 303


def test_user_of_another_organization_sees_none_of_its_devices(http: httpx.Client) -> None:
    """Other Corp's Admin lists only its own device and gets 404 for an Acme device page."""
    sign_in(http, OTHER)
    page = http.get("/dashboard/devices")
    assert "Boiler Room" in page.text
    assert "Greenhouse" not in page.text
    sign_in(http, ADMIN)
    acme = http.get("/dashboard/devices", params={"q": "North"})
    found = re.search(r"/dashboard/devices/\d+", acme.text)
    assert found is not None
    device_path = found.group(0)
    http.cookies.clear()
    sign_in(http, OTHER)
    assert http.get(device_path).status_code == 404
    assert http.get("/dashboard/devices/99999999999").status_code == 404


def test_roles_see_what_their_permissions_allow(http: httpx.Client) -> None:
    """The User role sees only the device it owns and the Devices menu; Admin sees every device
    and every menu section."""
    sign_in(http, USER)
    page = http.get("/dashboard").text
    assert "Uma&#39;s Sensor" in page
    assert "Greenhouse North" not in page
    assert "/dashboard/users" not in page
    assert http.get("/dashboard/users").status_code == 404
    http.cookies.clear()
    sign_in(http, ADMIN)
    page = http.get("/dashboard").text
    assert "Greenhouse North" in page
    assert "Uma&#39;s Sensor" in page
    for section in ("templates", "organizations", "users", "developer"):
        assert f'href="/dashboard/{section}"' in page
        assert http.get(f"/dashboard/{section}").status_code == 200


def test_search_and_status_filter_run_on_the_server(http: httpx.Client) -> None:
    """``q`` matches names, templates and owners; ``status=online`` lists no offline device."""
    sign_in(http, ADMIN)
    by_name = http.get("/dashboard/devices", params={"q": "south"}).text
    assert "Greenhouse South" in by_name
    assert "Greenhouse North" not in by_name
    by_owner = http.get("/dashboard/devices", params={"q": "uma user"}).text
    assert "Uma&#39;s Sensor" in by_owner
    assert "Greenhouse South" not in by_owner
    online = http.get("/dashboard/devices", params={"status": "online"}).text
    assert "No device matches this search." in online
    odd = http.get("/dashboard/devices", params={"status": "bogus", "q": "\x00" * 300})
    assert odd.status_code == 200


def test_pages_carry_the_csrf_token_of_their_session(http: httpx.Client) -> None:
    """Every signed-in page's sign-out form holds the session's CSRF token."""
    token = sign_in(http, ADMIN)
    found = CSRF.search(http.get("/dashboard/devices").text)
    assert found is not None
    assert found.group(1) == token


def _user_id(server: InProcessServer, email: str) -> int:
    async def find() -> int:
        async with server.services.store.transaction() as tx:
            user = await tx.find_user_by_email(email)
        assert user is not None
        return user.id

    return server.run(find)
