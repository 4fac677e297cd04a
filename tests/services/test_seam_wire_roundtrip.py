"""``wire``: every registered class survives ``encode`` then ``decode`` equal to itself
(Hypothesis builds instances from the type hints), and junk never builds anything."""

import collections.abc
import contextlib
import dataclasses
import enum
import functools
import types
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Importing them registers every shared topic of the application.
import pinbase.services.bus
import pinbase.services.changes
import pinbase.services.reactions.webhook_changes  # noqa: F401
from pinbase.domain.datastreams import DECIMALS_PATTERNS
from pinbase.domain.ids import DatastreamId, DeviceId, TemplateId
from pinbase.domain.notifications import (
    MAX_EVERY_N,
    MAX_LIMIT_PERIOD_S,
    METAFIELD,
    RECIPIENT_KINDS,
    USER,
    Recipient,
)
from pinbase.domain.webhooks import Auth, AuthKind, Trigger, TriggerKind
from pinbase.services import wire

MAX_INT = 2**63 - 1
FIELD_STRATEGIES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("Template", "code"): st.from_regex(r"TMPL[A-Za-z0-9]{1,28}", fullmatch=True),
    ("TemplateEvent", "code"): st.from_regex(r"[A-Za-z0-9_ ]{1,50}", fullmatch=True),
    ("Pin", "number"): st.integers(0, 255),
    ("Datastream", "decimals"): st.none() | st.sampled_from(sorted(DECIMALS_PATTERNS)),
    ("Datastream", "label"): st.text("abcXYZ 09_", min_size=1, max_size=20),
    ("EventNotifications", "limit_period_s"): st.integers(0, MAX_LIMIT_PERIOD_S),
    ("EventNotifications", "every_n"): st.integers(1, MAX_EVERY_N),
    ("WebhookSpec", "name"): st.text("abcXYZ09 -", min_size=1, max_size=20).filter(str.strip),
    ("WebhookSpec", "url"): st.sampled_from(["https://example.com/x", "http://10.0.0.1:8080/"]),
    ("WebhookSpec", "body"): st.just(""),
    ("WebhookSpec", "form"): st.just(()),
    ("WebhookSpec", "query"): st.just(()),
    ("WebhookSpec", "headers"): st.just(()),
    ("WebhookSpec", "failure_recipients"): st.just(()),
    ("WebhookSpec", "failure_threshold"): st.integers(1, 3),
}
"""Fields whose domain rule random values would rarely meet."""

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_INT, MAX_INT) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
"""What a JSON object kept as sent holds (``Any`` in a type hint)."""


def _recipient(kind: str, some_id: int) -> Recipient:
    return Recipient(
        kind=kind,
        metafield_id=some_id if kind == METAFIELD else None,
        user_id=some_id if kind == USER else None,
    )


def _trigger(kind: TriggerKind, some_id: int) -> Trigger | None:
    for template_id, device_id in ((some_id, None), (None, some_id), (None, None)):
        for datastream_id in (some_id, None):
            with contextlib.suppress(Exception):
                return Trigger(
                    kind=kind,
                    template_id=None if template_id is None else TemplateId(template_id),
                    device_id=None if device_id is None else DeviceId(device_id),
                    datastream_id=None if datastream_id is None else DatastreamId(datastream_id),
                )
    return None


AUTHS = [
    Auth(),
    Auth(kind=AuthKind.BASIC, username="user", password="pässword"),
    Auth(
        kind=AuthKind.OAUTH2,
        client_id="id",
        client_secret="secret",
        token_url="https://example.com/token",
    ),
]


CLASS_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "Trigger": st.builds(
        _trigger, st.sampled_from(list(TriggerKind)), st.integers(1, MAX_INT)
    ).filter(lambda trigger: trigger is not None),
    "Auth": st.sampled_from(AUTHS),
    "Recipient": st.builds(
        _recipient, st.sampled_from(sorted(RECIPIENT_KINDS)), st.integers(0, MAX_INT)
    ),
}
"""Classes whose fields depend on each other."""


def strategy_for(hint: Any, owner: str = "", name: str = "") -> st.SearchStrategy[Any]:
    """Values of type ``hint`` as a field ``name`` of class ``owner`` holds them."""
    if isinstance(hint, type) and hint.__name__ in CLASS_STRATEGIES:
        return CLASS_STRATEGIES[hint.__name__]
    if (owner, name) in FIELD_STRATEGIES:
        return FIELD_STRATEGIES[(owner, name)]
    if isinstance(hint, typing.NewType):
        return strategy_for(hint.__supertype__)
    if hint is type(None) or hint is None:
        return st.none()
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-MAX_INT, MAX_INT)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if hint is str:
        return st.text(max_size=30)
    if hint is Any:
        return JSON_VALUES
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg) for arg in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(arg) for arg in args))
    if origin in (dict, collections.abc.Mapping):
        return st.dictionaries(strategy_for(args[0]), strategy_for(args[1]), max_size=3)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and wire._classes.get(hint.__name__) is hint:
        return instances(hint)
    raise NotImplementedError(f"no strategy for {hint!r}")


def init_fields(cls: type) -> dict[str, Any]:
    """The constructor's fields of a dataclass or named tuple, with their type hints."""
    hints = typing.get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}
    return {name: hints[name] for name in cls._fields}  # type: ignore[attr-defined]


@functools.cache
def instances(cls: type) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` its constructor accepts (those it refuses are discarded)."""
    fields = {name: _deferred(hint, cls.__name__, name) for name, hint in init_fields(cls).items()}
    return (
        st.fixed_dictionaries(fields)
        .map(functools.partial(_built, cls))
        .filter(lambda value: value is not None)
    )


def _deferred(hint: Any, owner: str, name: str) -> st.SearchStrategy[Any]:
    """``strategy_for`` built on first use: classes may refer to each other."""
    return st.deferred(lambda: strategy_for(hint, owner, name))


def _built(cls: type, kwargs: dict[str, Any]) -> Any:
    try:
        return cls(**kwargs)
    except Exception:
        return None


REGISTERED = sorted(
    (cls for cls in wire._classes.values() if not issubclass(cls, enum.Enum)),
    key=lambda cls: cls.__name__,
)


def test_every_shared_topic_is_registered() -> None:
    """The topics the caches and live fan-out need on every node are shared."""
    names = {cls.__name__ for cls in wire.shared_topics()}
    assert {"ValuesChanged", "PropertyChanged", "TimelineEntryAdded", "DeviceSaved"} <= names
    assert {"DeviceRemoved", "TemplateSaved", "OrganizationRemoved", "UserRemoved"} <= names
    assert {"ValuesImported", "PropertyErased", "WebhookSaved", "WebhookRemoved"} <= names


@pytest.mark.parametrize("cls", REGISTERED, ids=lambda cls: cls.__name__)
@settings(
    max_examples=15, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(data=st.data())
def test_registered_values_round_trip(cls: type, data: st.DataObject) -> None:
    """``decode(encode(x)) == x`` for instances of every registered class."""
    value = data.draw(strategy_for(cls))
    assert wire.decode(wire.encode(value)) == value


@pytest.mark.parametrize("cls", REGISTERED, ids=lambda cls: cls.__name__)
@settings(max_examples=5, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_envelopes_round_trip(cls: type, data: st.DataObject) -> None:
    """An envelope of several messages gives back the node and each message, in order."""
    values = data.draw(st.lists(strategy_for(cls), min_size=1, max_size=3))
    assert wire.decode_batch(wire.encode_batch("node", values)) == ("node", values, [])


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_junk_never_builds_anything(junk: bytes) -> None:
    """Arbitrary bytes decode to a plain JSON value or fail with ``WireError``, never another
    error and never an instance of a class."""
    try:
        decoded = wire.decode(junk)
    except wire.WireError:
        return
    assert decoded is None or isinstance(decoded, bool | int | float | str | tuple)


def test_unregistered_classes_are_refused_on_encode() -> None:
    """A dataclass nobody registered cannot be sent."""

    @dataclasses.dataclass(frozen=True)
    class Stranger:
        n: int

    with pytest.raises(wire.WireError):
        wire.encode(Stranger(1))


def test_a_class_name_is_registered_once() -> None:
    """Two classes under one name would decode as each other: the second is refused."""

    @dataclasses.dataclass(frozen=True)
    class Pin:
        n: int

    with pytest.raises(TypeError):
        wire.register(Pin)
