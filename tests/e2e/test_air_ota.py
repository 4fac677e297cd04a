"""Blynk.Air end to end (issue #12 point 2, device-lifecycle.md §1): ``pinbase serve`` with its
binary and MQTT listeners; devices that follow the documented OTA flow (receive the command,
download the URL over real HTTP, reconnect reporting the new version) reach *Success*; a device
that comes back with the old version, or whose download is cut midway, is an *Upload failure*
with the reason.

The MQTT device is paho-mqtt; the binary device speaks the frames of device-protocols.md §1 over
a plain socket, as the C++ library does (INTERNAL ``ota`` NUL ``url``).
"""

import hashlib
import json
import queue
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from platform_http import error, org_headers, second_org

from pinbase.testing import ServerProcess, free_port, provision
from testspec import UNTHROTTLED, load_spec

FW_TYPE = "TMPL_AIR_QA"
BUILD = "Dec  5 2026 10:00:00"
HEADER = struct.Struct(">BHH")
HW_LOGIN, INTERNAL = 29, 17
WAIT_S = 15.0


def firmware(version: str, *, size: int = 200_000) -> bytes:
    """A fake firmware image with the C++ library's ``blnkinf`` block inside."""
    tag = (
        b"blnkinf\x00mcu\x00"
        + version.encode()
        + b"\x00fw-type\x00"
        + FW_TYPE.encode()
        + b"\x00build\x00"
        + BUILD.encode()
        + b"\x00blynk\x001.3.2\x00h-beat\x0045\x00\x00"
    )
    head = bytes(range(256)) * 64
    return head + tag + b"\xa5" * (size - len(head) - len(tag))


def eventually(check: Callable[[], Any], wait: float = WAIT_S) -> Any:
    """The first truthy result of ``check`` within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.fixture(scope="module")
def air(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with device listeners, its devices, and a Platform API client."""
    data_dir = tmp_path_factory.mktemp("air")
    created = provision(load_spec(10), data_dir=data_dir)
    ports = {"hardware": free_port(), "mqtt": free_port()}
    options = [f"--{name}-port={port}" for name, port in ports.items()]
    with ServerProcess(data_dir, *options, env=UNTHROTTLED) as server:
        http = httpx.Client(base_url=server.base_url, timeout=30)
        http.headers.update(org_headers(http, created))
        try:
            yield {
                "server": server,
                "http": http,
                "devices": iter(created["devices"]),
                "ports": ports,
            }
        finally:
            http.close()


def ship(air: dict[str, Any], device: dict[str, Any], data: bytes, name: str) -> int:
    """Upload ``data`` and start a shipment of it to ``device``; the shipment's id."""
    http: httpx.Client = air["http"]
    uploaded = http.post(
        "/api/v1/organization/firmware/upload", files={"file": ("fw.ino.bin", data)}
    )
    assert uploaded.status_code == 201, uploaded.text
    info = uploaded.json()
    assert info["version"] == json.loads(json.dumps(info["info"]))["mcu"]
    assert info["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    body = {
        "name": name,
        "templateId": device["templateId"],
        "firmwareId": info["id"],
        "target": "devices",
        "devices": [device["id"]],
        "start": True,
    }
    created = http.post("/api/v1/organization/shipment/create", json=body)
    assert created.status_code == 201, created.text
    shipment_id: int = created.json()["id"]
    return shipment_id


def status(air: dict[str, Any], shipment_id: int, device_id: int) -> dict[str, Any]:
    """The device's line in the shipment's status table."""
    answer = air["http"].get(f"/api/v1/organization/shipment/devices?shipmentId={shipment_id}")
    assert answer.status_code == 200, answer.text
    line: dict[str, Any] = next(item for item in answer.json() if item["deviceId"] == device_id)
    return line


def reaches(air: dict[str, Any], shipment_id: int, device_id: int, wanted: str) -> dict[str, Any]:
    """Wait until the device's status is ``wanted``; its line."""
    seen: dict[str, Any] = {}

    def check() -> bool:
        seen.update(status(air, shipment_id, device_id))
        return bool(seen["status"] == wanted)

    assert eventually(check), seen
    return seen


class MqttDevice:
    """paho-mqtt as a Blynk MQTT device: subscribes to ``downlink/#``, reports ``info/mcu``."""

    def __init__(self, port: int, token: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        self.client.username_pw_set("device", token)
        self.client.on_message = lambda _c, _u, message: self.messages.put(
            (message.topic, bytes(message.payload))
        )
        connected = queue.Queue[int]()
        self.client.on_connect = lambda _c, _u, _f, code, _p: connected.put(code.value)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert connected.get(timeout=WAIT_S) == 0
        self.client.subscribe("downlink/#", qos=0)

    def report(self, version: str) -> None:
        """Publish ``info/mcu`` as the documented flow does on every connection."""
        info = {"tmpl": FW_TYPE, "ver": version, "build": BUILD, "type": FW_TYPE, "rxbuff": 1024}
        self.client.publish("info/mcu", json.dumps(info), qos=1).wait_for_publish(WAIT_S)

    def expect(self, topic: str) -> bytes:
        """The payload of the next message on ``topic``."""
        deadline = time.monotonic() + WAIT_S
        while True:
            seen_topic, payload = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if seen_topic == topic:
                return payload

    def close(self) -> None:
        """Disconnect cleanly, as a device rebooting into its new firmware."""
        self.client.disconnect()
        self.client.loop_stop()


class BinaryDevice:
    """A C++-library-like device over the binary protocol: login, info, then frames."""

    def __init__(self, port: int, token: str, version: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self._send(HW_LOGIN, 1, token)
        assert self._read() == (0, 1, b"", 200)
        info: tuple[str, ...] = ("mcu", version, "fw-type", FW_TYPE, "build", BUILD)
        info += ("blynk", "1.3.2", "h-beat", "45", "buff-in", "1024", "dev", "ESP32")
        self._send(INTERNAL, 2, *info)

    def _send(self, command: int, msg_id: int, *parts: str) -> None:
        body = "\0".join(parts).encode()
        self.sock.sendall(HEADER.pack(command, msg_id, len(body)) + body)

    def _read(self) -> tuple[int, int, bytes, int]:
        command, msg_id, length = HEADER.unpack(self._exactly(5))
        if command == 0:
            return command, msg_id, b"", length
        return command, msg_id, self._exactly(length), length

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def expect_ota(self) -> str:
        """The URL of the next INTERNAL ``ota`` (answers to the info message are skipped)."""
        while True:
            command, _msg_id, body, _length = self._read()
            if command == INTERNAL and body.startswith(b"ota\0"):
                return body.split(b"\0")[1].decode()

    def close(self) -> None:
        """Drop the connection, as the Edgent OTA flow does before downloading."""
        self.sock.close()


def download(url: str) -> httpx.Response:
    """The device's GET of the URL exactly as received."""
    answer = httpx.get(url, timeout=WAIT_S)
    assert answer.status_code == 200, answer.text
    return answer


def test_mqtt_device_offline_at_start_updates_to_success(air: dict[str, Any]) -> None:
    """An MQTT device connecting after the shipment started gets ``downlink/ota/json`` after its
    ``info/mcu``, downloads over HTTP with headers per §1.7, reconnects with the new version:
    Request sent → Firmware Downloaded → Success."""
    device = next(air["devices"])
    data = firmware("1.0.1")
    shipment_id = ship(air, device, data, "MQTT rollout")
    assert status(air, shipment_id, device["id"])["status"] == "pending"

    first = MqttDevice(air["ports"]["mqtt"], device["token"])
    first.report("1.0.0")
    command = json.loads(first.expect("downlink/ota/json"))
    assert command["size"] == len(data)
    assert command["ver"] == "1.0.1"
    assert command["type"] == FW_TYPE
    assert command["build"] == "Dec 05 2026 10:00:00"
    url = urlsplit(command["url"])
    assert url.path.startswith("/static/ota/")
    assert url.path.endswith(".bin")
    assert url.netloc == urlsplit(air["server"].base_url).netloc
    reaches(air, shipment_id, device["id"], "request_sent")

    answer = download(command["url"])
    assert answer.content == data
    assert answer.headers["content-length"] == str(len(data))
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert answer.headers["x-fw-ver"] == "1.0.1"
    assert answer.headers["x-fw-type"] == FW_TYPE
    assert "x-sha256" in answer.headers
    reaches(air, shipment_id, device["id"], "firmware_downloaded")
    first.close()

    second = MqttDevice(air["ports"]["mqtt"], device["token"])
    second.report("1.0.1")
    done = reaches(air, shipment_id, device["id"], "success")
    assert done["statusLabel"] == "Success"
    assert done["previousVersion"] == "1.0.0"
    second.close()


def test_binary_device_updates_to_success(air: dict[str, Any]) -> None:
    """A binary-protocol device gets INTERNAL ``ota`` NUL ``url`` after its info message,
    downloads, reconnects with the new ``mcu``: Success."""
    device = next(air["devices"])
    data = firmware("2.0.0")
    shipment_id = ship(air, device, data, "Binary rollout")
    first = BinaryDevice(air["ports"]["hardware"], device["token"], "1.9.9")
    url = first.expect_ota()
    first.close()
    assert download(url).content == data
    reaches(air, shipment_id, device["id"], "firmware_downloaded")
    second = BinaryDevice(air["ports"]["hardware"], device["token"], "2.0.0")
    reaches(air, shipment_id, device["id"], "success")
    second.close()


def test_device_back_with_the_old_version_is_an_upload_failure(air: dict[str, Any]) -> None:
    """Downloaded, then back with the version it had: Upload failure, with the reason."""
    device = next(air["devices"])
    shipment_id = ship(air, device, firmware("3.0.0"), "Failing rollout")
    first = BinaryDevice(air["ports"]["hardware"], device["token"], "2.9.0")
    url = first.expect_ota()
    first.close()
    download(url)
    reaches(air, shipment_id, device["id"], "firmware_downloaded")
    second = BinaryDevice(air["ports"]["hardware"], device["token"], "2.9.0")
    failed = reaches(air, shipment_id, device["id"], "upload_failure")
    assert failed["reason"] == "the device came back with version 2.9.0 after downloading the file"
    assert failed["attempts"] == 1
    second.close()


def test_download_cut_midway_is_an_upload_failure(air: dict[str, Any]) -> None:
    """The device reads the headers and a little of a large file, then drops the connection:
    Upload failure, saying how far the download went."""
    device = next(air["devices"])
    size = 24 * 1024 * 1024
    shipment_id = ship(air, device, firmware("4.0.0", size=size), "Cut rollout")
    mqtt_device = MqttDevice(air["ports"]["mqtt"], device["token"])
    mqtt_device.report("3.0.0")
    url = json.loads(mqtt_device.expect("downlink/ota/json"))["url"]
    with httpx.stream("GET", url, timeout=WAIT_S) as answer:
        assert answer.headers["content-length"] == str(size)
        next(answer.iter_raw(64 * 1024))
    failed = reaches(air, shipment_id, device["id"], "upload_failure")
    assert failed["reason"].startswith("the download broke off after ")
    assert failed["reason"].endswith(f" of {size} bytes")
    mqtt_device.close()


def test_download_token_is_per_device_and_unknown_is_404(air: dict[str, Any]) -> None:
    """Another token, another file id, or no token: 404."""
    base = air["server"].base_url
    assert httpx.get(f"{base}/static/ota/1.bin?token={'a' * 32}").status_code == 404
    assert httpx.get(f"{base}/static/ota/1.bin").status_code == 404
    assert httpx.get(f"{base}/static/ota/x.bin?token={'a' * 32}").status_code == 404


def test_firmware_of_the_path_is_in_the_data_folder(air: dict[str, Any]) -> None:
    """Uploaded files live under the data folder's ``firmware`` folder, one per id."""
    folder: Path = air["server"].data_dir / "firmware"
    assert any(folder.iterdir())


def test_http_1_0_download_as_the_esp8266_sends_it(air: dict[str, Any]) -> None:
    """The ESP8266 Edgent request (``GET … HTTP/1.0``, ``Host``, ``Connection: keep-alive``)
    gets ``200`` with the exact ``Content-Length``, no chunked encoding, and the whole file."""
    device = next(air["devices"])
    data = firmware("5.0.0", size=70_000)
    shipment_id = ship(air, device, data, "ESP8266 rollout")
    binary = BinaryDevice(air["ports"]["hardware"], device["token"], "4.0.0")
    url = urlsplit(binary.expect_ota())
    binary.close()
    request = (
        f"GET {url.path}?{url.query} HTTP/1.0\r\nHost: {url.netloc}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=WAIT_S) as sock:
        sock.sendall(request.encode())
        answer = b""
        while len(answer) < len(data) or b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            if b"\r\n\r\n" in answer and len(body) >= len(data):
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].split(" ")[1] == "200"
    headers = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
    }
    assert headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in headers
    assert headers["x-md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert body == data
    reaches(air, shipment_id, device["id"], "firmware_downloaded")


def test_another_organization_sees_none_of_it(air: dict[str, Any]) -> None:
    """Organization B's token: A's firmware and shipments are 404 with their message, its lists
    are empty; a malformed shipment is 400."""
    device = next(air["devices"])
    shipment_id = ship(air, device, firmware("6.0.0"), "Private rollout")
    firmware_id = air["http"].get(f"/api/v1/organization/shipment?shipmentId={shipment_id}")
    firmware_id = firmware_id.json()["firmwareId"]
    other = second_org(air["server"].data_dir)
    with httpx.Client(base_url=air["server"].base_url, timeout=30) as http:
        http.headers.update(org_headers(http, other))
        answer = http.get(f"/api/v1/organization/firmware?firmwareId={firmware_id}")
        assert answer.status_code == 404
        assert answer.json() == error(f"Firmware with id {firmware_id} is not found.")
        for path in ("shipment", "shipment/devices"):
            answer = http.get(f"/api/v1/organization/{path}?shipmentId={shipment_id}")
            assert answer.json() == error(f"Shipment with id {shipment_id} is not found.")
        answer = http.post(f"/api/v1/organization/shipment/cancel?shipmentId={shipment_id}")
        assert answer.status_code == 404
        answer = http.delete(f"/api/v1/organization/firmware?firmwareId={firmware_id}")
        assert answer.json() == error(f"Firmware with id {firmware_id} is not found.")
        assert http.get("/api/v1/organization/firmware/list").json() == []
        assert http.get("/api/v1/organization/shipment/list").json() == []
        bad = http.post("/api/v1/organization/shipment/create", json={"name": 5})
        assert bad.status_code == 400
    assert status(air, shipment_id, device["id"])["status"] == "pending"


def test_shipment_life_over_the_platform_api(air: dict[str, Any]) -> None:
    """Pause, resume, Update now, cancel and delete over the API, each refusal with its
    message; an upload without its file part is 400; firmware lists and reads back."""
    http: httpx.Client = air["http"]
    device = next(air["devices"])
    shipment_id = ship(air, device, firmware("7.0.0"), "Managed rollout")
    one = f"shipmentId={shipment_id}"
    paused = http.post(f"/api/v1/organization/shipment/pause?{one}")
    assert paused.json()["status"] == "paused"
    update = f"/api/v1/organization/shipment/device/update?{one}&deviceId={device['id']}"
    assert http.post(update).json() == error("Only a live shipment updates devices.")
    assert http.post(f"/api/v1/organization/shipment/start?{one}").json()["status"] == "live"
    assert http.post(update).status_code == 204
    refused = http.delete(f"/api/v1/organization/shipment?{one}")
    assert refused.json() == error("A live shipment cannot be deleted: cancel it first.")
    assert http.post(f"/api/v1/organization/shipment/cancel?{one}").json()["status"] == "cancelled"
    again = http.post(f"/api/v1/organization/shipment/start?{one}")
    assert again.json() == error("A cancelled shipment cannot start again.")
    assert http.delete(f"/api/v1/organization/shipment?{one}").status_code == 204
    assert http.get(f"/api/v1/organization/shipment?{one}").status_code == 404
    listed = http.get("/api/v1/organization/firmware/list").json()
    assert listed
    first = http.get(f"/api/v1/organization/firmware?firmwareId={listed[0]['id']}").json()
    assert first == listed[0]
    assert http.get("/api/v1/organization/shipment/list").status_code == 200
    empty = http.post("/api/v1/organization/firmware/upload", files={"other": ("x.bin", b"1")})
    assert empty.status_code == 400


def test_a_firmware_file_is_deleted_once_no_shipment_ships_it(air: dict[str, Any]) -> None:
    """Deleting a shipped file is refused naming the shipment; once the shipment is cancelled
    and deleted, the file goes: 204, then 404 by id, out of the list, its bytes and its download
    URL gone."""
    http: httpx.Client = air["http"]
    device = next(air["devices"])
    shipment_id = ship(air, device, firmware("7.0.0"), "Doomed rollout")
    firmware_id = http.get(f"/api/v1/organization/shipment?shipmentId={shipment_id}")
    firmware_id = firmware_id.json()["firmwareId"]
    path = f"/api/v1/organization/firmware?firmwareId={firmware_id}"
    refused = http.delete(path)
    assert refused.status_code == 400
    assert refused.json() == error(
        "The firmware file is shipped by 'Doomed rollout': delete the shipments first."
    )
    binary = BinaryDevice(air["ports"]["hardware"], device["token"], "6.5.0")
    url = binary.expect_ota()
    binary.close()
    for step in ("cancel", "delete"):
        method = http.post if step == "cancel" else http.delete
        suffix = "/cancel" if step == "cancel" else ""
        answer = method(f"/api/v1/organization/shipment{suffix}?shipmentId={shipment_id}")
        assert answer.status_code in (200, 204), answer.text
    assert http.delete(path).status_code == 204
    assert http.get(path).status_code == 404
    assert firmware_id not in [item["id"] for item in http.get(f"{path.split('?')[0]}/list").json()]
    assert not (air["server"].data_dir / "firmware" / str(firmware_id)).exists()
    assert httpx.get(url).status_code == 404
    assert http.delete(path).status_code == 404


def test_a_download_resumed_with_ranges_completes(air: dict[str, Any]) -> None:
    """A device that fetches the file in two ``Range`` parts gets ``206`` with each
    ``Content-Range``: the first part leaves it *New Firmware Requested*, the part that reaches
    the end makes it *Firmware Downloaded*; a range past the end is ``416``."""
    device = next(air["devices"])
    data = firmware("8.0.0", size=150_000)
    shipment_id = ship(air, device, data, "Resumed rollout")
    binary = BinaryDevice(air["ports"]["hardware"], device["token"], "7.5.0")
    url = binary.expect_ota()
    binary.close()
    first = httpx.get(url, headers={"Range": "bytes=0-99999"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99999/{len(data)}"
    assert first.content == data[:100_000]
    assert status(air, shipment_id, device["id"])["status"] == "firmware_requested"
    rest = httpx.get(url, headers={"Range": "bytes=100000-"})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 100000-{len(data) - 1}/{len(data)}"
    assert first.content + rest.content == data
    reaches(air, shipment_id, device["id"], "firmware_downloaded")
    past = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
