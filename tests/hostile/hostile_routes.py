"""Every operation the server documents, as a request that passes authentication.

The operations come from the running server's ``/openapi.json`` (the Platform API, OAuth, the
device API and the legacy API are all described there), so a route added later is replayed too.
Each gets a baseline: path parameters filled in, required query parameters given plausible
values, and the credential its family takes (a device token, a Platform bearer token, an OAuth
client's Basic header). The corpus then spoils one part of the baseline at a time.
"""

import base64
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

PARAMETER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What the replayed requests authenticate with, and the identifiers they refer to."""

    device_token: str
    device_id: int
    sacrificed_device_id: int
    """The device the corpus's ``DELETE`` requests may remove; no other test uses it."""
    template_id: int
    template_code: str
    org_id: int
    bearer: str
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One documented method and path, with a baseline request."""

    method: str
    path: str
    """The path with its parameters filled in, percent-encoded."""
    template: str
    """The documented path, ``{parameters}`` and all."""
    query: list[tuple[str, str]]
    """Query parameters in order; the device API's ``token`` comes first."""
    names: list[str]
    """Every documented query parameter name."""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    """The credential header, if the family takes one."""
    body: dict[str, object] = field(default_factory=dict)
    """A plausible JSON object body: every required field, when the operation takes one."""
    body_fields: list[str] = field(default_factory=list)
    """Every field of that JSON object, required or not."""
    content_type: str | None = None

    @property
    def family(self) -> str:
        """``platform``, ``oauth``, ``device`` or ``legacy`` (``other`` for the rest)."""
        if self.template.startswith("/api/"):
            return "platform"
        if self.template.startswith("/oauth2/"):
            return "oauth"
        if self.template.startswith("/external/"):
            return "device"
        return "legacy" if self.template.startswith("/{token}/") else "other"

    def target(self, query: list[tuple[str, str]] | None = None, *, raw: str = "") -> bytes:
        """The request target with ``query`` (the baseline's by default) and ``raw`` appended
        unencoded."""
        pairs = self.query if query is None else query
        text = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
        text = "&".join(part for part in (text, raw) if part)
        return (self.path + ("?" + text if text else "")).encode("latin-1")


def operations(document: dict[str, Any], credentials: Credentials) -> list[Operation]:
    """Every operation of the OpenAPI ``document``, with its baseline request."""
    found = []
    for template, methods in document["paths"].items():
        for method, spec in methods.items():
            found.append(_operation(document, template, method.upper(), spec, credentials))
    return found


def _operation(
    document: dict[str, Any],
    template: str,
    method: str,
    spec: dict[str, Any],
    credentials: Credentials,
) -> Operation:
    parameters = spec.get("parameters", [])

    def value(name: str) -> str:
        found = plausible(name, method=method, template=template, credentials=credentials)
        return "1" if found is None else str(found)

    path = PARAMETER.sub(lambda match: value(match[1]), template)
    names = [p["name"] for p in parameters if p["in"] == "query"]
    required = [p["name"] for p in parameters if p["in"] == "query" and p.get("required")]
    query = [(name, value(name)) for name in required]
    headers: list[tuple[bytes, bytes]] = []
    if template.startswith("/api/"):
        headers.append((b"Authorization", f"Bearer {credentials.bearer}".encode()))
    if template.startswith("/oauth2/"):
        pair = f"{credentials.client_id}:{credentials.client_secret}".encode()
        headers.append((b"Authorization", b"Basic " + base64.b64encode(pair)))
    content = spec.get("requestBody", {}).get("content", {})
    content_type = next(iter(content), None)
    schema = _resolve(document, content.get("application/json", {}).get("schema", {}))
    fields = schema.get("properties", {})
    body = {
        name: _field_value(
            plausible(name, method=method, template=template, credentials=credentials),
            fields[name],
        )
        for name in schema.get("required", [])
    }
    return Operation(
        method=method,
        path=path,
        template=template,
        query=query,
        names=names,
        headers=headers,
        body=body,
        body_fields=list(fields),
        content_type=content_type,
    )


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` followed."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def plausible(name: str, *, method: str, template: str, credentials: Credentials) -> object:
    """A plausible value for a parameter or body field called ``name``, None if unknown."""
    device = credentials.sacrificed_device_id if method == "DELETE" else credentials.device_id
    if name == "templateId":
        # The Platform API takes the template's id, DEV-12 and PLT-DEV-09 its TMPL… code.
        numeric = template.startswith("/api/") and not template.endswith("/create")
        return credentials.template_id if numeric else credentials.template_code
    values: dict[str, object] = {
        "token": credentials.device_token,
        "deviceId": device,
        "device_id": device,
        "orgId": credentials.org_id,
        "targetOrgId": credentials.org_id,
        "userId": 1,
        "ownerId": 1,
        "roleId": 3,
        "dataStreamId": 1,
        "metaFieldId": 1,
        "pin": "v1",
        "code": "overheat",
        "eventCode": "overheat",
        "property": "label",
        "value": "1",
        "newValue": "1",
        "query": "a",
        "name": "Abc",
        "email": f"hostile-{template.rsplit('/', 1)[-1]}@example.com",  # one per endpoint
        "ownerEmail": "owner@example.com",
        "userEmail": "user@example.com",
        "passwordHash": "A" * 43 + "=",
        "grant_type": "client_credentials",
        "stamp": "0",
    }
    return values.get(name)


def _field_value(found: object, schema: dict[str, Any]) -> object:
    """``found`` where it fits the field's ``schema``, else something that does."""
    kinds = set()
    for option in [schema, *schema.get("anyOf", [])]:
        kind = option.get("type")
        kinds |= set(kind) if isinstance(kind, list) else {kind}
    if "enum" in schema:
        return schema["enum"][0]
    if "integer" in kinds:
        return found if isinstance(found, int) else 1
    if "object" in kinds:
        return {"1": 1}
    if "array" in kinds:
        return [1]
    return "Abc" if found is None else found
