"""The webhook model's rules (automations.md §4.1, §4.4)."""

from dataclasses import replace
from typing import Any

import pytest

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
from pinbase.domain.webhooks import (
    SECRET_MASK,
    Auth,
    AuthKind,
    ContentType,
    Field,
    Status,
    Trigger,
    TriggerKind,
    Webhook,
    WebhookSpec,
    check_url,
    mask_secrets,
)

DEVICE_TRIGGER = Trigger(
    kind=TriggerKind.DEVICE_DATASTREAM, device_id=DeviceId(7), datastream_id=DatastreamId(4)
)


def spec(**changes: Any) -> WebhookSpec:
    base = WebhookSpec(name="Particle LED", trigger=DEVICE_TRIGGER, url="https://example.com/x")
    return replace(base, **changes)


def test_a_plain_spec_is_valid() -> None:
    """A name, a trigger and an https URL make a webhook; POST JSON, enabled, threshold 1."""
    made = spec()
    assert made.method == "POST"
    assert made.content_type is ContentType.JSON
    assert made.status is Status.ENABLED
    assert made.failure_threshold == 1


@pytest.mark.parametrize("name", ["", "   ", "a" * 81, "bad_name", "x/y", "é"])
def test_names_break_the_charset_or_length(name: str) -> None:
    """A name has 1..80 letters, digits, '-', "'" or spaces, not only spaces."""
    with pytest.raises(InvalidDefinition, match="webhook name"):
        spec(name=name)


def test_name_of_80_allowed_characters_is_valid() -> None:
    """The longest name and every allowed character pass."""
    assert spec(name="a" * 80).name == "a" * 80
    assert spec(name="Bob's web-hook 2").name == "Bob's web-hook 2"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "example.com",
        "https://",
        "https://{device_name}.example.com/",
        "https://user@example.com/",
        "https://example.com/a b",
        "https://example.com/\n",
        "https://example.com/" + "a" * 1010,
    ],
)
def test_urls_that_are_refused(url: str) -> None:
    """The URL is http(s), has a literal host, no spaces or controls, and ≤ 1024 characters."""
    with pytest.raises(InvalidDefinition):
        check_url(url)


def test_url_accepts_placeholders_after_the_host() -> None:
    """Placeholders in the path and query are fine; HTTP (any case) too."""
    check_url("HTTP://example.com:8080/{device_id}?v=/pin/")


@pytest.mark.parametrize(
    "trigger",
    [
        {"kind": TriggerKind.TEMPLATE_DATASTREAM, "datastream_id": 1},
        {"kind": TriggerKind.TEMPLATE_DATASTREAM, "template_id": 1, "device_id": 2},
        {"kind": TriggerKind.TEMPLATE_DATASTREAM, "template_id": 1},
        {"kind": TriggerKind.DEVICE_DATASTREAM, "datastream_id": 1},
        {"kind": TriggerKind.PRODUCT_LOG_EVENT, "device_id": 1},
        {"kind": TriggerKind.PRODUCT_LOG_EVENT, "datastream_id": 1},
        {"kind": TriggerKind.USER_ADDED, "template_id": 1},
    ],
)
def test_triggers_need_their_scope(trigger: dict[str, object]) -> None:
    """Datastream triggers name a datastream and a template xor a device; others name neither."""
    with pytest.raises(InvalidDefinition, match="this trigger kind needs"):
        Trigger(**trigger)  # type: ignore[arg-type]


def test_trigger_kind_predicates() -> None:
    """Only the two datastream triggers are datastream triggers; USER_* are user triggers."""
    assert TriggerKind.TEMPLATE_DATASTREAM.is_datastream
    assert not TriggerKind.PRODUCT_LOG_EVENT.is_datastream
    assert TriggerKind.USER_SIGNED_UP.is_user
    assert not TriggerKind.ORGANIZATION_CREATED.is_user
    product = Trigger(kind=TriggerKind.PRODUCT_LOG_EVENT, template_id=TemplateId(3))
    assert product.template_id == 3


def test_device_activation_has_user_placeholders() -> None:
    """The user triggers and DEVICE_ACTIVATED carry ``user_*`` placeholders; others do not."""
    assert TriggerKind.DEVICE_ACTIVATED.has_user
    assert not TriggerKind.DEVICE_ACTIVATED.is_user
    assert TriggerKind.USER_DELETED.has_user
    assert not TriggerKind.DEVICE_FIRST_CONNECTED.has_user
    assert Trigger(kind=TriggerKind.DEVICE_ACTIVATED).device_id is None


def test_legacy_response_to_pin_needs_a_datastream_trigger() -> None:
    """``legacyResponseToPin`` is kept on a datastream webhook and refused on any other."""
    assert spec(legacy_response_to_pin=True).legacy_response_to_pin
    with pytest.raises(InvalidDefinition, match="legacyResponseToPin needs a datastream"):
        spec(legacy_response_to_pin=True, trigger=Trigger(kind=TriggerKind.DEVICE_ACTIVATED))


@pytest.mark.parametrize(
    ("key", "value"), [("", "v"), ("k" * 101, "v"), ("k", "v" * 1025), ("k", "a\rb")]
)
def test_fields_have_bounded_keys_and_values(key: str, value: str) -> None:
    """Keys have 1..100 characters; values ≤ 1024 characters without control characters."""
    with pytest.raises(InvalidDefinition):
        Field(key=key, value=value)


def test_header_rules() -> None:
    """Header keys are tokens; values use §4.1's characters plus whole placeholders."""
    good = spec(headers=(Field(key="X-Source", value="pinbase {device_id} {device_pinValue[1]}"),))
    assert good.headers[0].key == "X-Source"
    with pytest.raises(InvalidDefinition, match="HTTP token"):
        spec(headers=(Field(key="X Source", value="v"),))
    with pytest.raises(InvalidDefinition, match="header value"):
        spec(headers=(Field(key="X", value="a,b"),))


def test_body_and_form_rules() -> None:
    """Form rows need WEB_FORM; a WEB_FORM webhook has no body; bodies ≤ 5120 characters."""
    row = Field(key="k", value="{device_pinValue}")
    assert spec(content_type=ContentType.WEB_FORM, form=(row,)).form == (row,)
    with pytest.raises(InvalidDefinition, match="form rows need"):
        spec(form=(row,))
    with pytest.raises(InvalidDefinition, match="not a body"):
        spec(content_type=ContentType.WEB_FORM, body="x")
    with pytest.raises(InvalidDefinition, match="body"):
        spec(body="x" * 5121)
    with pytest.raises(InvalidDefinition, match="at most 50"):
        spec(query=(row,) * 51)


def test_failure_settings() -> None:
    """The threshold is 1..1000 and there are at most 50 failure recipients."""
    with pytest.raises(InvalidDefinition, match="threshold"):
        spec(failure_threshold=0)
    with pytest.raises(InvalidDefinition, match="recipients"):
        spec(failure_recipients=tuple(range(51)))


def test_auth_kinds_need_their_fields() -> None:
    """Basic needs a username without ':'; OAuth 2.0 a client id, secret and token URL."""
    Auth(kind=AuthKind.BASIC, username="u", password="p")
    Auth(
        kind=AuthKind.OAUTH2,
        client_id="c",
        client_secret="s",
        token_url="https://auth.example.com/token",
    )
    bad: list[dict[str, object]] = [
        {"kind": AuthKind.BASIC, "username": "u:v"},
        {"kind": AuthKind.BASIC, "username": "u", "client_id": "c"},
        {"kind": AuthKind.OAUTH2, "client_id": "c", "token_url": "https://a/t"},
        {"kind": AuthKind.OAUTH2, "client_id": "c", "client_secret": "s", "token_url": "x"},
        {
            "kind": AuthKind.OAUTH2,
            "client_id": "c",
            "client_secret": "s",
            "token_url": "https://a/t",
            "username": "u",
        },
        {"kind": AuthKind.NONE, "password": "p"},
        {"kind": AuthKind.NONE, "token_url": "https://a/t"},
        {"kind": AuthKind.BASIC, "username": "u", "password": "p\n"},
    ]
    for fields in bad:
        with pytest.raises(InvalidDefinition):
            Auth(**fields)  # type: ignore[arg-type]


def test_secrets_are_masked_and_kept_on_edit() -> None:
    """Answers show the mask; an edit sending the mask (or nothing) keeps the stored secret."""
    stored = Auth(kind=AuthKind.BASIC, username="u", password="hunter2")
    assert stored.masked().password == SECRET_MASK
    assert stored.secrets == ("hunter2",)
    assert Auth().masked() == Auth()
    assert stored.masked().keeping_secrets(stored) == stored
    assert replace(stored, password="").keeping_secrets(stored).password == "hunter2"
    assert replace(stored, password="new").keeping_secrets(stored).password == "new"
    oauth = Auth(kind=AuthKind.OAUTH2, client_id="c", client_secret="s3", token_url="https://a/t")
    assert oauth.masked().keeping_secrets(oauth).client_secret == "s3"
    assert replace(oauth, client_secret="s4").keeping_secrets(oauth).client_secret == "s4"
    assert oauth.keeping_secrets(stored) == oauth


def test_webhook_masks_and_reports_enabled() -> None:
    """A webhook masks its auth and is enabled by its status."""
    auth = Auth(kind=AuthKind.BASIC, username="u", password="pw")
    hook = Webhook(id=1, org_id=OrgId(1), spec=spec(auth=auth))
    assert hook.is_enabled
    assert hook.masked().spec.auth.password == SECRET_MASK
    assert not replace(hook, spec=spec(status=Status.DISABLED)).is_enabled


def test_mask_secrets_replaces_longest_first() -> None:
    """Every occurrence of each secret goes, a longer one first; empty secrets are ignored."""
    assert mask_secrets("abc abcd", ("abc", "abcd", ""), mask="*") == "* *"
