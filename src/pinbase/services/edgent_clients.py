"""The two HTTP peers of ``pinbase edgent provision``: a Pinbase server's Platform API, reached
with an OAuth client's credentials, and a Blynk.Edgent device's access point (§2.3).

Both turn every network, HTTP and format failure into one ``EdgentError`` whose message names
what failed and what to do; no traceback reaches the person at the keyboard.
"""

import logging
from collections.abc import Sequence
from typing import Any

import httpx

from pinbase.domain.edgent import (
    BoardInfo,
    WifiConfig,
    WifiNetwork,
    config_query,
    parse_board_info,
    parse_config_answer,
    parse_wifi_scan,
)
from pinbase.domain.errors import PinbaseError

logger = logging.getLogger(__name__)

PLATFORM_TIMEOUT_S = 10.0
"""Per request to the Pinbase server; every call is a small JSON exchange."""
AP_PROBE_TIMEOUT_S = 3.0
"""Per ``/board_info.json`` probe: the device sits on the same link, or is not there at all."""
AP_SCAN_TIMEOUT_S = 30.0
"""``/wifi_scan.json``: an ESP32 scan may take up to 20 s before answering (§2.3)."""
USERS_PAGE_SIZE = 100
ADMIN_ROLE = 1
"""The Admin role's id (data-model.md, roles 1..3)."""
BASE = "/api/v1/organization"


class EdgentError(PinbaseError):
    """A provisioning step failed; the message is one line for the user."""


class Unreachable(EdgentError):
    """The Pinbase server did not answer: the laptop may be on the device's access point."""


class PlatformClient:
    """The Platform API calls provisioning needs, with an access token from the client
    credentials grant (AUTH-01), fetched again once when the server answers 401 (tokens
    live 300 s; the user may take longer to join the device's access point)."""

    def __init__(self, server_url: str, *, client_id: str, client_secret: str) -> None:
        self._server_url = server_url
        self._http = httpx.Client(base_url=server_url, timeout=PLATFORM_TIMEOUT_S)
        self._credentials = (client_id, client_secret)
        self._token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def authenticate(self) -> None:
        """Obtain an access token.

        Raises:
            EdgentError: the server is unreachable or refuses the credentials.
        """
        answer = self._send(
            "POST",
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=self._credentials,
        )
        body = _json_object(answer)
        if answer.status_code == 200 and isinstance(body.get("access_token"), str):
            self._token = body["access_token"]
            return
        code, description = body.get("error"), body.get("error_description")
        if code == "invalid_client":
            raise EdgentError(
                "the server refused the OAuth client id or secret (check --client-id and "
                "--client-secret)"
            )
        detail = description if isinstance(description, str) else f"HTTP {answer.status_code}"
        raise EdgentError(f"the server gave no access token: {detail}")

    def owner_id(self, owner: str | None) -> int:
        """The user id of ``owner``: a number is taken as is, an e-mail is looked up (PLT-USR-02);
        without one, the first Admin of the OAuth client's organization (PLT-USR-01)."""
        if owner is not None and owner.isdecimal():
            return int(owner)
        if owner is not None:
            found = self._json("GET", f"{BASE}/search/users", params={"query": owner})
            for user in _items(found):
                if str(user.get("email", "")).lower() == owner.lower():
                    return _id(user)
            raise EdgentError(f"no user {owner} in the OAuth client's organizations")
        page = 0
        while True:
            found = self._json(
                "GET", f"{BASE}/users", params={"page": page, "size": USERS_PAGE_SIZE}
            )
            users = _items(found)
            for user in users:
                if user.get("roleId") == ADMIN_ROLE:
                    return _id(user)
            if len(users) < USERS_PAGE_SIZE:
                raise EdgentError(
                    "the OAuth client's organization has no Admin to own the device: give --owner"
                )
            page += 1

    def create_device(self, *, template: str, name: str, owner_id: int) -> tuple[int, str]:
        """Create the device (PLT-DEV-09) and return its id and token."""
        body = {"templateId": template, "name": name, "ownerId": owner_id}
        created = self._json("POST", f"{BASE}/device/create", json=body, expect=201)
        device_id, token = created.get("id"), created.get("token")
        if not isinstance(device_id, int) or not isinstance(token, str):
            raise EdgentError("the server's answer to device creation has no id or token")
        return device_id, token

    def existing_device(self, device_id: int, *, template: str) -> tuple[str, str]:
        """The name and token of device ``device_id`` (PLT-DEV-06), after checking its template
        has the code ``template`` (PLT-TPL-02)."""
        device = self._json("GET", f"{BASE}/device", params={"deviceId": device_id})
        name, token, template_id = device.get("name"), device.get("token"), device.get("templateId")
        if (
            not isinstance(name, str)
            or not isinstance(token, str)
            or not isinstance(template_id, int)
        ):
            raise EdgentError("the server's answer about the device has no name, token or template")
        found = self._json("GET", f"{BASE}/template", params={"templateId": template_id})
        codes = found.get("templateIds")
        codes = [code for code in codes if isinstance(code, str)] if isinstance(codes, list) else []
        if template not in codes:
            raise EdgentError(
                f"device {device_id} is of template {', '.join(codes) or template_id}, "
                f"not {template}"
            )
        return name, token

    def is_online(self, device_id: int) -> bool:
        """PLT-DEV-08: whether the device is connected now."""
        answer = self._json("GET", f"{BASE}/device/online", params={"deviceId": device_id})
        return answer.get("connected") is True

    def _json(self, method: str, path: str, *, expect: int = 200, **request: Any) -> dict[str, Any]:
        """A Platform API call answering a JSON object with status ``expect``."""
        if self._token is None:
            self.authenticate()
        answer = self._send(method, path, headers=self._bearer(), **request)
        if answer.status_code == 401:
            self.authenticate()
            answer = self._send(method, path, headers=self._bearer(), **request)
        body = _json_object(answer)
        if answer.status_code != expect:
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            raise EdgentError(
                f"the server refused {method} {path}: "
                f"{message if isinstance(message, str) else f'HTTP {answer.status_code}'}"
            )
        return body

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _send(self, method: str, path: str, **request: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **request)
        except httpx.HTTPError as error:
            raise Unreachable(
                f"cannot reach the Pinbase server at {self._server_url}: {_reason(error)}"
            ) from None


class AccessPointClient:
    """The device's HTTP API on its access point (§2.3), at the first of ``urls`` that answers."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        probe_timeout_s: float = AP_PROBE_TIMEOUT_S,
        answer_timeout_s: float = AP_SCAN_TIMEOUT_S,
    ) -> None:
        self.urls = tuple(url.rstrip("/") for url in urls)
        self.url = self.urls[0]
        self._http = httpx.Client(timeout=probe_timeout_s)
        self._answer_timeout_s = answer_timeout_s

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def probe(self) -> BoardInfo | None:
        """``/board_info.json`` from the first address that answers; None when none does.

        Raises:
            EdgentError: an address answered, but not as an Edgent device.
        """
        for url in self.urls:
            try:
                answer = self._http.get(f"{url}/board_info.json")
            except httpx.HTTPError as error:
                logger.debug("edgent.ap_unreachable url=%s reason=%s", url, _reason(error))
                continue
            self.url = url
            if answer.status_code != 200:
                raise EdgentError(
                    f"{url}/board_info.json answered HTTP {answer.status_code}: "
                    "is this a Blynk.Edgent device?"
                )
            try:
                return parse_board_info(answer.content)
            except ValueError as error:
                raise EdgentError(f"{url}: {error}") from None
        return None

    def wifi_scan(self) -> list[WifiNetwork]:
        """The networks the device sees, strongest first."""
        answer = self._get("/wifi_scan.json")
        try:
            return parse_wifi_scan(answer.content)
        except ValueError as error:
            raise EdgentError(str(error)) from None

    def configure(self, config: WifiConfig) -> str:
        """``GET /config?…``; the device's message when it accepts (§2.9 step 4)."""
        answer = self._get(f"/config?{config_query(config)}")
        try:
            return parse_config_answer(answer.content)
        except ValueError as error:
            if answer.status_code not in (200, 500):
                raise EdgentError(
                    f"the device answered HTTP {answer.status_code} to /config"
                ) from None
            raise EdgentError(str(error)) from None

    def _get(self, path: str) -> httpx.Response:
        name = path.partition("?")[0]  # the query holds the token and the Wi-Fi password
        try:
            return self._http.get(f"{self.url}{path}", timeout=self._answer_timeout_s)
        except httpx.HTTPError as error:
            raise EdgentError(
                f"the device at {self.url} did not answer {name}: {_reason(error)}"
            ) from None


def _json_object(answer: httpx.Response) -> dict[str, Any]:
    """The JSON object of an answer; ``{}`` when it is anything else."""
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _items(page: dict[str, Any]) -> list[dict[str, Any]]:
    content = page.get("content")
    return [item for item in content if isinstance(item, dict)] if isinstance(content, list) else []


def _id(user: dict[str, Any]) -> int:
    value = user.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise EdgentError("the server's user list has a user without an id")
    return value


def _reason(error: httpx.HTTPError) -> str:
    """A short reason without the URL's query (it may hold secrets)."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return str(error) or "connection failed"  # the OS's reason; httpx adds no URL to it
    return type(error).__name__
