"""DEV-13 POST /external/api/upload (part ``upfile``) and the /device_uploads/… links it returns."""

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pinbase.testing import ServerProcess, provision
from testspec import Pool

UPLOAD = "/external/api/upload"
MB = 1024 * 1024
LINK_NAME = r"[A-Za-z0-9_-]{32}"


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


@pytest.fixture(scope="module")
def idle(pool: Pool) -> dict[str, Any]:
    """One device shared by this module's tests that change nothing (refused requests, reads)."""
    return pool.take()


def upload(
    client: httpx.Client, token: str, name: str, content: bytes, field: str = "upfile"
) -> httpx.Response:
    return client.post(f"{UPLOAD}?token={token}", files={field: (name, content)})


def raw_get(base_url: str, path: str) -> int:
    """GET ``path`` exactly as written: http.client neither normalises nor re-encodes it."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_upload_answers_a_link_that_serves_the_file(
    http: httpx.Client, server: ServerProcess, device: dict[str, Any], data_dir: Path
) -> None:
    """The answer is the text URL {host}/device_uploads/{id}/{32 chars}.png serving the bytes."""
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    answer = upload(http, device["token"], "image.png", content)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    pattern = rf"{re.escape(server.base_url)}/device_uploads/{device['id']}/{LINK_NAME}\.png"
    assert re.fullmatch(pattern, answer.text)
    served = http.get(answer.text)
    assert (served.status_code, served.content) == (200, content)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    stored = data_dir / "uploads" / str(device["id"]) / answer.text.rpartition("/")[2]
    assert stored.read_bytes() == content


@pytest.mark.parametrize(
    ("name", "extension", "media_type"),
    [
        ("PHOTO.JPG", "jpg", "image/jpeg"),
        ("notes.txt", "txt", "text/plain"),
        ("README", "bin", "application/octet-stream"),
        ("archive.tar.weird-ext!", "bin", "application/octet-stream"),
        ("data.xyz", "xyz", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_extension(
    http: httpx.Client, token: str, name: str, extension: str, media_type: str
) -> None:
    """The link keeps the lowercased extension (bin when unusable); the type follows it."""
    url = upload(http, token, name, b"bytes").text
    assert url.endswith(f".{extension}")
    assert http.get(url).headers["content-type"] == media_type


def test_same_file_name_replaces_the_earlier_file(http: httpx.Client, token: str) -> None:
    """Uploading a name again serves the new bytes at a new link; the old link answers 404."""
    first = upload(http, token, "report.txt", b"first").text
    second = upload(http, token, "report.txt", b"second").text
    assert first != second
    assert http.get(first).status_code == 404
    assert http.get(second).content == b"second"


def test_eleventh_upload_evicts_the_oldest(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """Ten files are kept per device: the 11th upload deletes the 1st, file included."""
    urls = [upload(http, device["token"], f"file{n}.txt", b"%d" % n).text for n in range(11)]
    evicted = http.get(urls[0])
    assert (evicted.status_code, evicted.json()) == (404, error("Not found."))
    assert not (data_dir / "uploads" / str(device["id"]) / urls[0].rpartition("/")[2]).exists()
    assert [http.get(url).content for url in urls[1:]] == [b"%d" % n for n in range(1, 11)]


def test_five_megabytes_are_the_limit(http: httpx.Client, token: str) -> None:
    """A 5 MB file is accepted; one byte more answers a 400 naming the limit."""
    assert upload(http, token, "big.bin", b"\0" * (5 * MB)).status_code == 200
    answer = upload(http, token, "bigger.bin", b"\0" * (5 * MB + 1))
    assert answer.status_code == 400
    assert answer.json() == error(f"File is too large. The maximum is {5 * MB} bytes.")


def test_link_of_another_device_answers_404(http: httpx.Client, token: str, pool: Pool) -> None:
    """A stored name under another device's id is not served."""
    url = upload(http, token, "mine.txt", b"mine").text
    other = pool.take()["id"]
    assert (
        http.get(re.sub(r"/device_uploads/[0-9]+/", f"/device_uploads/{other}/", url)).status_code
        == 404
    )


@pytest.mark.parametrize(
    "path",
    [
        "/device_uploads/{id}/..%2F..%2Fpinbase.db",
        "/device_uploads/{id}/%2e%2e%2f%2e%2e%2fpinbase.db",
        "/device_uploads/{id}/../../pinbase.db",
        "/device_uploads/%2e%2e/pinbase.db",
        "/device_uploads/..%2F..%2F/pinbase.db",
        "/device_uploads/{id}/..pinbase.db",
        "/device_uploads/{id}/" + "A" * 32 + ".png",
        "/device_uploads/{id}/" + "A" * 32 + ".png%00.txt",
        "/device_uploads/99999999999999999999/" + "A" * 32 + ".png",
        "/device_uploads/-1/" + "A" * 32 + ".png",
    ],
)
def test_path_traversal_and_unknown_names_answer_404(
    server: ServerProcess, idle: dict[str, Any], path: str
) -> None:
    """Only exact stored names of kept files are served; anything else is 404."""
    assert raw_get(server.base_url, path.format(id=idle["id"])) == 404


def test_missing_token(http: httpx.Client) -> None:
    """No token answers No token provided."""
    answer = http.post(UPLOAD, files={"upfile": ("a.txt", b"x")})
    assert (answer.status_code, answer.json()) == (400, error("No token provided."))


def test_invalid_token(http: httpx.Client) -> None:
    """An unknown token answers Invalid token."""
    answer = upload(http, "nope", "a.txt", b"x")
    assert (answer.status_code, answer.json()) == (400, error("Invalid token."))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, b""),
        ("application/json", b'{"upfile": "x"}'),
        ("application/x-www-form-urlencoded", b"upfile=x"),
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=xyz", b"garbage"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="upfile"; filename="a.txt"\r\n\r\ncut',
        ),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="upfile"\r\n\r\nplain\r\n--xyz--\r\n',
        ),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="upfile"; filename=""\r\n\r\n'
            b"x\r\n--xyz--\r\n",
        ),
    ],
)
def test_malformed_request_is_refused(
    http: httpx.Client, idle: dict[str, Any], content_type: str | None, body: bytes
) -> None:
    """No multipart body, a broken one, or upfile without a file name: incorrect parameters."""
    headers = {} if content_type is None else {"content-type": content_type}
    answer = http.post(f"{UPLOAD}?token={idle['token']}", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, error("Request with incorrect parameters"))


def test_file_under_another_part_name_is_refused(http: httpx.Client, idle: dict[str, Any]) -> None:
    """A file in a part not named upfile answers incorrect parameters."""
    answer = upload(http, idle["token"], "a.txt", b"x", field="file")
    assert (answer.status_code, answer.json()) == (400, error("Request with incorrect parameters"))


def test_file_name_longer_than_255_is_refused(http: httpx.Client, idle: dict[str, Any]) -> None:
    """An original file name of more than 255 characters answers incorrect parameters."""
    answer = upload(http, idle["token"], "a" * 252 + ".txt", b"x")
    assert (answer.status_code, answer.json()) == (400, error("Request with incorrect parameters"))


# --- a server with small limits and a public URL ------------------------------------------------

PUBLIC_URL = "https://iot.example.com/"
SMALL_LIMITS = f"""
uploads_per_day = 3
kept_uploads_per_device = 2
max_upload_bytes = 1000
public_url = "{PUBLIC_URL}"
"""


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A server allowing 3 uploads a day, keeping 2, of at most 1000 bytes, behind a public URL."""
    data_dir = tmp_path_factory.mktemp("uploads")
    config = data_dir / "pinbase.toml"
    config.write_text(SMALL_LIMITS)
    spec = {
        "organization": {"name": "Uploads Org"},
        "templates": [{"name": "Uploader"}],
        "devices": [{"name": "Uploader", "template": "Uploader"}],
    }
    token = provision(spec, data_dir=data_dir)["devices"][0]["token"]
    with ServerProcess(data_dir, "--config", str(config)) as process:
        yield process, token


def test_limits_and_public_url(small_server: tuple[ServerProcess, str]) -> None:
    """Size limit, kept count and daily quota follow settings; links start with public_url.

    Evicted uploads still count toward the day: after 3 uploads (2 kept) the 4th answers 403.
    """
    process, token = small_server
    with httpx.Client(base_url=process.base_url, timeout=10) as client:
        too_large = upload(client, token, "big.bin", b"x" * 1001)
        assert (too_large.status_code, too_large.json()) == (
            400,
            error("File is too large. The maximum is 1000 bytes."),
        )
        urls = [upload(client, token, f"f{n}.txt", b"x" * 1000).text for n in range(3)]
        assert all(url.startswith(f"{PUBLIC_URL}device_uploads/") for url in urls)
        local = [url.replace(PUBLIC_URL, f"{process.base_url}/") for url in urls]
        assert [client.get(url).status_code for url in local] == [404, 200, 200]
        refused = upload(client, token, "f3.txt", b"x")
        assert (refused.status_code, refused.json()) == (
            403,
            error("File uploads limit has been reached."),
        )
