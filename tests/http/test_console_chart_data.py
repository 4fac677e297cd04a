"""The console's chart endpoint (http/console/chart_data.py) in process.

The console's session sign-in is not merged yet, so ``caller_of`` here maps a test cookie to the
caller of a provisioned user, built as ``services.oauth.Caller`` builds a Platform API caller:
its organization and the organization's subtree as scope. Everything behind it is real.
"""

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from inprocess import BASE_URL, InProcessServer
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.points import Point
from pinbase.http.console.chart_data import chart_routes
from pinbase.services.charts import MAX_SERIES
from pinbase.services.oauth import Caller

SESSION = "test-session"
MINUTE_MS = 60_000


def spec(name: str) -> dict[str, Any]:
    """An organization with one user, one template of two numbers and a text, one device."""
    return {
        "organization": {"name": name},
        "users": [
            {"email": f"{name.lower()}@example.com", "name": name, "roleId": 1, "password": "pw"}
        ],
        "templates": [
            {
                "name": f"{name} sensor",
                "datastreams": [
                    {"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"},
                    {"id": 2, "label": "Flow", "pin": 2, "type": "INT"},
                    {"id": 3, "label": "Note", "pin": 3, "type": "STRING"},
                ],
            }
        ],
        "devices": [{"name": f"{name} tank", "template": f"{name} sensor"}],
    }


class Console:
    """The chart routes mounted at ``/dashboard`` over the session's services."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        self.ours = server.provision(spec("Ours"))
        self.theirs = server.provision(spec("Theirs"))
        org_id = OrgId(self.ours["users"][0]["orgId"])
        caller = Caller(
            client_id="console-test",
            org_id=org_id,
            scope=server.services.directory.subtree(org_id),
        )

        async def caller_of(conn: HTTPConnection) -> Caller | None:
            return caller if conn.cookies.get("session") == SESSION else None

        routes = chart_routes(server.services, server.settings, caller_of)
        self.app = Starlette(routes=routes)

    def get(self, path: str, *, signed_in: bool = True) -> httpx.Response:
        """GET ``path`` on the console, on the services' event loop."""

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app),
                base_url=BASE_URL,
                cookies={"session": SESSION} if signed_in else {},
            ) as client:
                return await client.get(path)

        answer: httpx.Response = self.server.run(send)
        return answer


@pytest.fixture(scope="module")
def console(app_server: InProcessServer) -> Console:
    """Two organizations' devices and the console routes signed in as the first's user."""
    return Console(app_server)


def chart_url(device_id: int | str, query: str) -> str:
    """The chart endpoint of a device."""
    return f"/dashboard/api/devices/{device_id}/chart?{query}"


def test_a_chart_answers_every_series_asked_for_in_buckets(console: Console) -> None:
    """1h of two datastreams: per-minute [ts, avg, min, max] points, an empty text series."""
    device_id = console.ours["devices"][0]["id"]
    now = console.server.services.clock()
    minute = now - now % MINUTE_MS
    points = [
        Point(DeviceId(device_id), DatastreamId(1), minute - 2 * MINUTE_MS, 1.5),
        Point(DeviceId(device_id), DatastreamId(1), minute - 2 * MINUTE_MS + 1, 2.5),
        Point(DeviceId(device_id), DatastreamId(2), minute - 3 * MINUTE_MS, 7),
        Point(DeviceId(device_id), DatastreamId(3), minute - 3 * MINUTE_MS, "text"),
    ]
    console.server.run(lambda: console.server.services.store.append_points(points, current=[]))
    answer = console.get(chart_url(device_id, "range=1h&dataStreamIds=1,2,3"))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert (body["range"], body["bucketMs"], body["to"] - body["from"]) == ("1h", MINUTE_MS, 3.6e6)
    assert body["series"] == [
        {"dataStreamId": 1, "points": [[minute - 2 * MINUTE_MS, 2.0, 1.5, 2.5]]},
        {"dataStreamId": 2, "points": [[minute - 3 * MINUTE_MS, 7.0, 7.0, 7.0]]},
        {"dataStreamId": 3, "points": []},
    ]


def test_without_a_signed_in_caller_the_answer_is_401(console: Console) -> None:
    """No session: 401 in Blynk's error shape, before anything about the device is read."""
    device_id = console.ours["devices"][0]["id"]
    answer = console.get(chart_url(device_id, "range=1h&dataStreamIds=1"), signed_in=False)
    assert answer.status_code == 401
    assert set(answer.json()["error"]) == {"message"}


@pytest.mark.parametrize("device", ["theirs", "missing", "not-a-number", "0", "1" * 30])
def test_a_device_outside_the_scope_is_answered_as_missing(console: Console, device: str) -> None:
    """Another organization's device gets the same 404 as one that does not exist."""
    device_id = {
        "theirs": str(console.theirs["devices"][0]["id"]),
        "missing": "99999999",
    }.get(device, device)
    answer = console.get(chart_url(device_id, "range=1h&dataStreamIds=1"))
    assert answer.status_code == 404
    assert answer.json() == {"error": {"message": f"Device {device_id} not found"}}


@pytest.mark.parametrize(
    "query",
    [
        "dataStreamIds=1",
        "range=2h&dataStreamIds=1",
        "range=1h",
        "range=1h&dataStreamIds=",
        "range=1h&dataStreamIds=1,,2",
        "range=1h&dataStreamIds=-1",
        "range=1h&dataStreamIds=x",
        "range=1h&dataStreamIds=9",
        f"range=1h&dataStreamIds={','.join(str(n) for n in range(1, MAX_SERIES + 2))}",
    ],
)
def test_a_bad_range_or_datastream_list_is_400(console: Console, query: str) -> None:
    """Unknown ranges, malformed, unknown or too many datastream ids: 400 with a message."""
    answer = console.get(chart_url(console.ours["devices"][0]["id"], query))
    assert answer.status_code == 400
    assert answer.json()["error"]["message"]
