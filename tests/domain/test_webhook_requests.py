"""Building webhook requests: placeholders and escaping per position (automations.md §4.3)."""

import json
from dataclasses import replace

import pytest

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.webhook_requests import (
    Placeholders,
    Refusal,
    RequestRefused,
    build_request,
    iso_timestamp,
    mask_url,
    substitute,
    substitute_json,
)
from pinbase.domain.webhooks import ContentType, Field, Method, Trigger, TriggerKind, WebhookSpec

DATA = Placeholders(
    values={
        "device_id": "7",
        "device_name": "Tank A",
        "device_authToken": "tok/en+1",
        "timestamp_unix": "1716000000123",
        "timestamp_iso8601": "2024-05-18T02:40:00.123Z",
    },
    datastreams={4: "21.5", 5: 'say "hi"'},
    metadata={1: "Berlin"},
    items=("7", "6", "5"),
    owner_email="owner@example.com",
)
SPEC = WebhookSpec(
    name="hook",
    trigger=Trigger(
        kind=TriggerKind.DEVICE_DATASTREAM, device_id=DeviceId(7), datastream_id=DatastreamId(4)
    ),
    url="https://example.com/d/{device_id}",
)


def test_every_placeholder_kind() -> None:
    """Plain names, datastreams and metafields by id, pin value and items; unknown stays."""
    text = (
        "{device_id} {device_dataStream_4} {device_metadata_1} {device_pinValue} "
        "{device_pinValue[1]} {device_pinValue[9]}| {nope} {device_dataStream_9} {nope[1]}"
    )
    assert substitute(text, DATA, legacy=False) == (
        "7 21.5 Berlin 7,6,5 6 | {nope} {device_dataStream_9} {nope[1]}"
    )


def test_legacy_tokens_replace_every_occurrence() -> None:
    """§4.6 tokens: /pin/, /pin[N]/, %s, /datetime_iso/, device_owner_email (any case)."""
    text = "/pin/ /pin/ /pin[0]/ /pin[2]/ /pin[7]/ %s /datetime_iso/ Device_Owner_Email"
    assert substitute(text, DATA, legacy=True) == (
        "7,6,5 7,6,5 7 5  7,6,5 2024-05-18T02:40:00.123Z owner@example.com"
    )
    assert substitute(text, DATA, legacy=False) == text


def test_substituted_values_are_not_scanned_again() -> None:
    """A value holding a token is written as it is."""
    data = Placeholders(values={"device_name": "{device_id} /pin/"}, items=("1",))
    assert substitute("{device_name}", data, legacy=True) == "{device_id} /pin/"


def test_json_escapes_only_inside_string_literals() -> None:
    """Inside a JSON string a value is escaped without quotes; outside it goes raw."""
    template = '{"name": "{device_dataStream_5}", "v": {device_dataStream_4}, "e": "a\\"{x}"}'
    body = substitute_json(template, DATA, legacy=False)
    assert json.loads(body.replace("{x}", "")) == {"name": 'say "hi"', "v": 21.5, "e": 'a"'}


def test_json_scanner_handles_escapes_across_tokens() -> None:
    """A backslash-escaped quote does not end the string; control characters are escaped."""
    data = Placeholders(values={"a": "x\\\n\t\r\b\f\x01"})
    body = substitute_json('["\\"{a}", {a}]', data, legacy=False)
    assert body == '["\\"x\\\\\\n\\t\\r\\b\\f\\u0001", x\\\n\t\r\b\f\x01]'
    assert json.loads(substitute_json('["{device_pinValue[0]}"]', DATA, legacy=True)) == ["7"]


def test_json_unknown_tokens_are_scanned_as_text() -> None:
    """An unknown token holding a quote-like literal keeps the scanner in step."""
    body = substitute_json('"{nope}" {device_name} "{device_name}"', DATA, legacy=False)
    assert body == '"{nope}" Tank A "Tank A"'


def test_request_url_percent_encodes_and_appends_query_rows() -> None:
    """URL values are percent-encoded; query rows are form-encoded and appended."""
    spec = replace(
        SPEC,
        url="https://example.com/{device_name}?t={device_authToken}",
        query=(Field(key="v al", value="{device_pinValue}"),),
        method=Method.GET,
    )
    built = build_request(spec, DATA, legacy=False, secrets=("tok/en+1",))
    assert built.url == "https://example.com/Tank%20A?t=tok%2Fen%2B1&v+al=7%2C6%2C5"
    assert "tok" not in built.masked_url
    assert built.method == "GET"
    spec = replace(SPEC, query=(Field(key="a", value="{device_id}"),))
    assert build_request(spec, DATA, legacy=False).url.endswith("/d/7?a=7")


def test_form_body_and_default_content_types() -> None:
    """Web Form rows are URL-encoded; each content type has its default header."""
    spec = replace(
        SPEC,
        content_type=ContentType.WEB_FORM,
        form=(Field(key="name", value="{device_name}"), Field(key="v", value="/pin/")),
    )
    built = build_request(spec, DATA, legacy=True)
    assert built.body == "name=Tank+A&v=7%2C6%2C5"
    assert built.headers == (("Content-Type", "application/x-www-form-urlencoded"),)
    plain = build_request(
        replace(SPEC, content_type=ContentType.PLAIN_TEXT, body='"%s"'), DATA, legacy=True
    )
    assert plain.body == '"7,6,5"'
    assert plain.headers == (("Content-Type", "text/plain; charset=utf-8"),)
    assert build_request(SPEC, DATA, legacy=False).headers == (
        ("Content-Type", "application/json"),
    )


def test_user_content_type_wins_and_headers_are_raw() -> None:
    """A user-set Content-Type replaces the default; header values are substituted raw."""
    spec = replace(
        SPEC,
        headers=(
            Field(key="content-type", value="text/csv"),
            Field(key="X", value="{device_name}"),
        ),
    )
    built = build_request(spec, DATA, legacy=False)
    assert built.headers == (("content-type", "text/csv"), ("X", "Tank A"))
    assert built.payload() == {
        "method": "POST",
        "url": "https://example.com/d/7",
        "maskedUrl": "https://example.com/d/7",
        "headers": [["content-type", "text/csv"], ["X", "Tank A"]],
        "body": "",
    }


def test_limits_after_substitution() -> None:
    """Body > 5 KB, URL > 1024 characters and a line break in a header are refused."""
    big = Placeholders(values={"device_name": "x" * 3000, "nl": "a\nb"})
    with pytest.raises(RequestRefused) as refused:
        build_request(replace(SPEC, body="{device_name}{device_name}"), big, legacy=False)
    assert refused.value.reason is Refusal.BODY_TOO_LARGE
    with pytest.raises(RequestRefused) as refused:
        build_request(replace(SPEC, url="https://e.com/{device_name}"), big, legacy=False)
    assert refused.value.reason is Refusal.URL_TOO_LONG
    with pytest.raises(RequestRefused) as refused:
        build_request(replace(SPEC, headers=(Field(key="X", value="{nl}"),)), big, legacy=False)
    assert refused.value.reason is Refusal.INVALID_HEADER


def test_iso_timestamp_and_masking() -> None:
    """Timestamps read as UTC ISO 8601 with milliseconds; masks cover encoded secrets too."""
    assert iso_timestamp(1716000000005) == "2024-05-18T02:40:00.005Z"
    assert mask_url("https://e.com/a%2Fb?x=a/b", ("a/b",)) == "https://e.com/••••••?x=••••••"
