"""The hostile-input corpus: what an attacker or a broken client sends, as raw requests.

Each function spoils one part of an operation's baseline request (``hostile_routes.Operation``) and
returns the requests to replay: query strings, JSON bodies, headers, credentials, paths, and
bodies over the size limit. Values are spelled as they travel (percent-encoded query text, raw
JSON text), so that numbers such as ``1e309`` or ``10**400`` reach the server as digits rather
than as whatever a JSON library would make of them.
"""

import json
from collections.abc import Iterator

from hostile_http import RawRequest
from hostile_routes import Credentials, Operation

HUGE_INTEGER = "1" + "0" * 400

QUERY_VALUES = {
    "nul": "a%00b",
    "overlong-nul": "%C0%80",
    "invalid-utf8": "%ff%fe%80",
    "surrogate": "%ED%A0%80",
    "broken-escape": "%zz%",
    "bom": "%EF%BB%BF1",
    "inf-float": "1e309",
    "huge-integer": HUGE_INTEGER,
    "int64-overflow": "9223372036854775808",
    "minus-zero": "-0",
    "nan": "NaN",
    "infinity": "-Infinity",
    "negative": "-1",
    "fraction": "1.5",
    "hex": "0x10",
    "empty": "",
    "json": "%7B%22a%22%3A%5B1%5D%7D",
    "huge": "x" * 8000,
}
"""Query values as sent, already percent-encoded."""

JSON_VALUES = {
    "null": "null",
    "true": "true",
    "string": '"x"',
    "empty-string": '""',
    "nul-email": '"a\\u0000b@example.com"',
    "lone-surrogate": '"\\ud800"',
    "inf-float": "1e309",
    "huge-integer": HUGE_INTEGER,
    "int64-overflow": "9223372036854775808",
    "minus-zero": "-0",
    "negative": "-1",
    "fraction": "1.5",
    "array": "[1,[2]]",
    "object": '{"a":{"b":1}}',
    "huge-string": '"' + "x" * 100_000 + '"',
    "deep": "[" * 2000 + "]" * 2000,
}
"""JSON values as raw text, put in place of one field of a body at a time."""

BODIES = {
    "empty": b"",
    "open-brace": b"{",
    "unclosed-array": b"[1,2",
    "bare-word": b"nul",
    "lone-quote": b'"',
    "close-brace": b"}",
    "two-objects": b"{}{}",
    "bom": b'\xef\xbb\xbf{"deviceId":1}',
    "utf16": '{"a":1}'.encode("utf-16"),
    "invalid-utf8": b'{"name":"\xff\xfe"}',
    "raw-nul": b'{"name":"a\x00b"}',
    "nul-byte": b"\x00",
    "nan": b"NaN",
    "nan-field": b'{"deviceId":NaN,"value":Infinity}',
    "inf-float": b"1e309",
    "huge-integer": HUGE_INTEGER.encode(),
    "scalar": b"1",
    "string": b'"s"',
    "null": b"null",
    "array": b"[]",
    "array-of-nulls": b"[null,null]",
    "points": b"[[1e309,1],[-0,NaN],[" + HUGE_INTEGER.encode() + b',"a\\u0000b"]]',
    "bad-points": b'[[],["x",{}],[1],[1,2,3],{"timestamp":"x","value":[]}]',
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-unclosed": b"[" * 100_000,
    "deep-object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "huge-array": b"[" + b"0," * 300_000 + b"0]",
    "many-keys": b"{" + b",".join(b'"k%d":1' % n for n in range(50_000)) + b"}",
}
"""Whole bodies, sent to every operation that takes one (and ignored by the others)."""

CONTENT_TYPES = [
    b"text/plain",
    b"application/json; charset=latin-1",
    b"application/json; charset=utf-16",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
    b"multipart/form-data; boundary=\xff",
    b"application/json\xff",
    b";;;",
    b"application/json" * 200,
]

MULTIPART_BODIES = {
    "no-file": b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
    "nul-name": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="a\x00b"\r\n\r\n1'
    b"\r\n--b--\r\n",
    "utf8-name": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="\xff\xfe"\r\n'
    b"\r\n1\r\n--b--\r\n",
    "dot-name": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="../../x"\r\n'
    b"\r\n1\r\n--b--\r\n",
    "long-name": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="'
    + b"x" * 5000
    + b'"\r\n\r\n1\r\n--b--\r\n',
    "two-files": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="a"\r\n\r\n1\r\n'
    b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="b"\r\n\r\n2\r\n--b--\r\n',
    "unterminated": b'--b\r\nContent-Disposition: form-data; name="upfile"; filename="a"\r\n\r\n1',
    "garbage": b"\x00\xff" * 100,
}

FORM_BODIES = {
    "nul": b"grant_type=client_credentials%00",
    "invalid-utf8": b"grant_type=%ff%fe",
    "raw-invalid-utf8": b"grant_type=\xff\xfe",
    "repeated": b"grant_type=client_credentials&grant_type=refresh_token",
    "many": b"&".join(b"p%d=1" % n for n in range(5000)),
    "huge": b"refresh_token=" + b"x" * 100_000,
    "junk": b"&&&==%%%;;=",
}

HEADERS = {
    "bad-length": [(b"Content-Length", b"abc")],
    "negative-length": [(b"Content-Length", b"-1")],
    "float-length": [(b"Content-Length", b"1e3")],
    "two-lengths": [(b"Content-Length", b"2"), (b"Content-Length", b"3")],
    "short-length": [(b"Content-Length", b"1")],
    "length-and-chunked": [(b"Content-Length", b"2"), (b"Transfer-Encoding", b"chunked")],
    "gzip-encoding": [(b"Transfer-Encoding", b"gzip")],
    "bad-chunk": [(b"Transfer-Encoding", b"chunked")],
}
"""Headers that frame the body themselves (wrongly); the body sent with each is ``{}``."""

BAD_CHUNKED = b"zz\r\n{}\r\n0\r\n\r\n"

EXTRA_HEADERS = {
    "two-content-types": [
        (b"Content-Type", b"application/json"),
        (b"Content-Type", b"text/plain"),
    ],
    "two-hosts": [(b"Host", b"a"), (b"Host", b"b")],
    "second-authorization": [(b"Authorization", b"Bearer \xff\xfe")],
    "websocket-upgrade": [
        (b"Upgrade", b"websocket"),
        (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"Sec-WebSocket-Version", b"13"),
    ],
    "non-ascii-host": [(b"Host", b"\xff\xfe")],
    "expect-continue": [(b"Expect", b"100-continue")],
    "non-ascii-accept": [(b"Accept", b"\xff/\xfe")],
    "forwarded-junk": [(b"X-Forwarded-For", b"\xff, ::::, 999.1.1.1")],
    "cookie-junk": [(b"Cookie", b"a=\xff; ;;=")],
    "long-agent": [(b"User-Agent", b"x" * 8000)],
    "accept-encoding": [(b"Accept-Encoding", b"gzip;q=NaN, *;q=-1")],
}
"""Headers added to an otherwise valid request."""

AUTHORIZATIONS = {
    "none": None,
    "bearer-only": b"Bearer",
    "bearer-space": b"Bearer x y",
    "bearer-non-ascii": b"Bearer \xff\xfe",
    "bearer-nbsp": b"Bearer\xa0x",
    "bearer-overlong": b"Bearer " + b"a" * 8000,
    "basic-non-ascii": b"Basic \xc3\xa9\xff==",
    "basic-not-utf8": b"Basic //79",
    "basic-bad-base64": b"Basic !!!",
    "basic-nbsp": b"Basic \xa0",
    "basic-overlong": b"Basic " + b"QUFB" * 4000,
    "digest": b"Digest username=x",
}
"""``Authorization`` values in place of the family's own (Platform API and OAuth)."""

TOKENS = {
    "empty": "",
    "unknown": "x" * 32,
    "nul": "a%00b",
    "invalid-utf8": "%ff%fe",
    "slash": "a%2Fb",
    "dot-dot": "..",
    "overlong": "t" * 5000,
}
"""Device tokens (already percent-encoded) in place of the valid one (device and legacy API)."""

OVERSIZE = 2 * 1024 * 1024 + 1


def query_requests(operation: Operation) -> Iterator[RawRequest]:
    """Each hostile value in each documented parameter, then whole hostile query strings."""
    base = _without_token(operation)
    token = [pair for pair in operation.query if pair[0] == "token"]
    for name in [n for n in operation.names if n != "token"]:
        for label, value in QUERY_VALUES.items():
            pairs = [pair for pair in base if pair[0] != name]
            yield _request(operation, f"{name}={label}", query=token + pairs, raw=f"{name}={value}")
    names = [n for n in operation.names if n != "token"] or ["x"]
    given = dict(base)
    raws = {
        # Never another valid identifier: a DELETE repeating deviceId would remove that device.
        "repeated": "&".join(f"{n}={given.get(n, 'x')}&{n}={given.get(n, 'x')}" for n in names),
        "repeated-junk": "&".join(f"{n}={given.get(n, 'x')}&{n}=x" for n in names),
        "no-equals": "&".join(names),
        "nul-names": "&".join(f"{n}%00=1" for n in names),
        "invalid-utf8-names": "%ff%fe=1&v%ff=1",
        "junk": "&&&==%%%;;=&%",
        "many": "&".join(f"p{n}=1" for n in range(2000)),
        "overlong": "q=" + "x" * 60_000,
    }
    for label, raw in raws.items():
        yield _request(operation, label, query=token + base, raw=raw)


def body_requests(operation: Operation) -> Iterator[RawRequest]:
    """Broken, odd and oversized bodies, wrong types in each field, odd content types."""
    if operation.content_type == "multipart/form-data":
        headers = [(b"Content-Type", b"multipart/form-data; boundary=b")]
        for label, body in MULTIPART_BODIES.items():
            yield _request(operation, f"multipart-{label}", headers=headers, body=body)
        return
    if operation.content_type == "application/x-www-form-urlencoded":
        headers = [(b"Content-Type", b"application/x-www-form-urlencoded")]
        for label, body in FORM_BODIES.items():
            yield _request(operation, f"form-{label}", query=[], headers=headers, body=body)
    json_type = [(b"Content-Type", b"application/json")]
    for label, body in BODIES.items():
        yield _request(operation, f"body-{label}", headers=json_type, body=body)
    for content_type in CONTENT_TYPES:
        label = f"content-type-{content_type[:20]!r}"
        headers = [(b"Content-Type", content_type)]
        yield _request(operation, label, headers=headers, body=b'{"deviceId":1}')
    for field in operation.body_fields:
        for label, value in JSON_VALUES.items():
            body = _object_with(operation.body, field, value)
            yield _request(operation, f"{field}={label}", headers=json_type, body=body)


def header_requests(operation: Operation) -> Iterator[RawRequest]:
    """Wrong framing headers, duplicated and non-ASCII headers."""
    for label, headers in HEADERS.items():
        body = BAD_CHUNKED if label == "bad-chunk" else b"{}"
        yield _request(operation, label, headers=headers, body=body, framing=False)
    for label, headers in EXTRA_HEADERS.items():
        yield _request(operation, label, headers=headers)


def credential_requests(operation: Operation) -> Iterator[RawRequest]:
    """The family's credential missing, malformed, overlong or unknown."""
    if operation.family in ("platform", "oauth"):
        for label, value in AUTHORIZATIONS.items():
            headers = [] if value is None else [(b"Authorization", value)]
            yield _request(operation, f"authorization-{label}", headers=headers, auth=False)
    elif operation.family == "device":
        base = _without_token(operation)
        for label, token in TOKENS.items():
            yield _request(operation, f"token-{label}", query=base, raw=f"token={token}")
        yield _request(operation, "token-missing", query=base)
        yield _request(operation, "token-twice", raw="token=" + "x" * 32)
    elif operation.family == "legacy":
        valid = operation.path.split("/")[1]
        for label, token in TOKENS.items():
            path = operation.path.replace(f"/{valid}/", f"/{token}/", 1)
            yield RawRequest(
                label=f"{operation.method} {operation.template} token-{label}",
                method=operation.method,
                target=path.encode("latin-1"),
            )


def oversized_requests(operation: Operation) -> Iterator[RawRequest]:
    """A body over 2 MB, chunked and with ``Content-Length``."""
    headers = [(b"Content-Type", operation.content_type.encode())] if operation.content_type else []
    body = b"[" + b" " * OVERSIZE + b"]"
    for chunked in (True, False):
        label = "oversize-chunked" if chunked else "oversize-length"
        yield _request(operation, label, headers=headers, body=body, chunked=chunked)


def path_requests(credentials: Credentials) -> Iterator[RawRequest]:
    """Encoded slashes, NUL, invalid UTF-8, traversal and very long segments, odd methods."""
    token = credentials.device_token
    targets = [
        "/api/v1/organization%2Fdevice",
        "/api/v1/organization/device%00",
        "/api/%ff",
        f"/external/api/get%00?token={token}&v1",
        f"/external%2Fapi%2Fget?token={token}&v1",
        f"/external/api/%ff?token={token}",
        "/%2e%2e/%2e%2e/etc/passwd",
        f"/{token}%2Fget/v1",
        f"/{token}/get/v1%00",
        f"/{token}/get/%ff",
        f"/{token}/get/" + "v" * 5000,
        "/" + "a" * 5000 + "/get/v1",
        "//",
        "/%00",
        "/device_uploads/1/..%2F..%2Fpinbase.db",
        "/device_uploads/%00/x",
        "/device_data_1_%ff.zip",
        "/docs%00",
        "/openapi.json?x=%00",
        "/healthz?%ff=%00",
        "http://127.0.0.1/healthz",
        "/" + "/".join(["a"] * 2000),
    ]
    for target in targets:
        yield RawRequest(label=f"path {target[:60]}", method="GET", target=target.encode())
    for method in ("HEAD", "OPTIONS", "TRACE", "PATCH", "FOO"):
        for target in ("/api/v1/organization/device", f"/external/api/get?token={token}"):
            label = f"{method} {target[:40]}"
            yield RawRequest(label=label, method=method, target=target.encode())
    yield RawRequest(label="OPTIONS *", method="OPTIONS", target=b"*")


def _without_token(operation: Operation) -> list[tuple[str, str]]:
    return [pair for pair in operation.query if pair[0] != "token"]


def _request(
    operation: Operation,
    label: str,
    *,
    query: list[tuple[str, str]] | None = None,
    raw: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    auth: bool = True,
    chunked: bool = False,
    framing: bool = True,
) -> RawRequest:
    return RawRequest(
        label=f"{operation.method} {operation.template} {label}",
        method=operation.method,
        target=operation.target(query, raw=raw),
        headers=(operation.headers if auth else []) + (headers or []),
        body=body,
        chunked=chunked,
        framing=framing,
    )


def _object_with(baseline: dict[str, object], field: str, raw: str) -> bytes:
    """The ``baseline`` JSON object with ``raw`` text as the value of ``field``."""
    placeholder = "\0raw\0"
    text = json.dumps({**baseline, field: placeholder}).replace(json.dumps(placeholder), raw)
    return text.encode()
