"""The wire format of bus messages between nodes: tagged JSON of registered plain values.

A message class is registered with ``@message`` (or ``register(cls)``); registering it also
registers every frozen dataclass, named tuple and enum its fields name (``Device`` inside
``DeviceSaved``, ``WrittenValue`` and ``Pin`` inside ``ValuesChanged``), so nested domain values
cross as they are. ``encode`` writes JSON (orjson): a registered dataclass or named tuple is an
object ``{"@": name, field: value, …}``, an enum ``{"@e": name, "v": value}``, a tuple a JSON
array; ``None``, booleans, integers, floats and strings are themselves. ``decode`` builds only
registered classes, through their constructors (so ``__post_init__`` checks run again): a
payload naming anything else is refused with ``WireError``; nothing is ever unpickled.

Only init fields cross (``Template``'s derived indexes are rebuilt by its ``__post_init__``).
A JSON array always decodes as a tuple: messages hold tuples. A dict is written
``{"@d": [[key, value], …]}`` and a list (only inside a JSON object kept as sent, such as a
widget's settings) ``{"@l": [item, …]}``, so both come back as they went.
"""

import dataclasses
import enum
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

T = TypeVar("T", bound=type)

TYPE_KEY = "@"
ENUM_KEY = "@e"
DICT_KEY = "@d"
LIST_KEY = "@l"
COMPACT_KEY = "="


class WireError(ValueError):
    """Bytes that are not a message this code knows (corrupt, or from a different version)."""


_classes: dict[str, type] = {}
"""Every registered class by name: the only classes ``decode`` builds."""
_messages: set[type] = set()
"""The message classes (topics) registered with ``message``: the shared topics."""


def message(cls: T) -> T:
    """Class decorator: ``cls`` is a shared topic; its messages cross to the other nodes."""
    register(cls)
    _messages.add(cls)
    return cls


def register(cls: type) -> None:
    """Make ``cls`` (a dataclass, named tuple or enum) and the types its fields name decodable.

    Raises:
        TypeError: another class of the same name is registered already, or ``cls`` is not a
            dataclass, named tuple or enum.
    """
    known = _classes.get(cls.__name__)
    if known is cls:
        return
    if known is not None:
        raise TypeError(f"wire: {cls.__qualname__} and {known.__qualname__} share a name")
    if not (dataclasses.is_dataclass(cls) or _is_named_tuple(cls) or issubclass(cls, enum.Enum)):
        raise TypeError(f"wire: {cls.__qualname__} is not a dataclass, named tuple or enum")
    _classes[cls.__name__] = cls
    _compile(cls)
    if issubclass(cls, enum.Enum):
        return
    for hint in typing.get_type_hints(cls).values():
        _register_named(hint)


def compact(cls: type, *, encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> None:
    """Give a registered class of the hot path a shorter form: ``encode`` turns an instance
    into JSON values (no tags needed: the class knows its own shape), ``decode`` builds it back
    and raises anything on a payload it cannot read (turned into ``WireError``). The instance
    crosses as ``{"@": name, "=": payload}``.
    """
    register(cls)
    name = cls.__name__
    _encoders[cls] = lambda value: {TYPE_KEY: name, COMPACT_KEY: encode(value)}
    _decoders[name] = lambda tree: decode(tree[COMPACT_KEY])


def shared_topics() -> frozenset[type]:
    """The message classes registered with ``message``."""
    return frozenset(_messages)


def is_shared(topic: type) -> bool:
    """Whether messages of ``topic`` cross to the other nodes."""
    return topic in _messages


def encode(value: object) -> bytes:
    """The JSON bytes of a registered message (or any value ``decode`` rebuilds).

    Raises:
        WireError: the value holds a class that is not registered, or something JSON cannot
            carry.
    """
    try:
        return orjson.dumps(_plain(value))
    except (TypeError, orjson.JSONEncodeError) as error:
        raise WireError(f"cannot encode {type(value).__name__}: {error}") from error


def decode(data: bytes | str) -> object:
    """The value ``encode`` wrote.

    Raises:
        WireError: not JSON, or it names a class that is not registered, or the class refuses
            its fields.
    """
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise WireError(f"not JSON: {error}") from error
    try:
        return _built(tree)
    except WireError:
        raise
    except Exception as error:  # a constructor's own check: a wrong field, a bad value
        raise WireError(f"cannot build the message: {type(error).__name__}: {error}") from error


def encode_batch(node_id: str, messages: Iterable[object]) -> bytes:
    """One envelope: the sending node's id and its messages, ``{"n": id, "m": [message, …]}``.
    The node id comes first, so a node can skip its own envelopes by their first bytes
    (``batch_prefix``) without parsing them.

    Raises:
        WireError: as ``encode``, for any of the messages.
    """
    return b"".join((batch_prefix(node_id), b",".join(encode(m) for m in messages), b"]}"))


def batch_prefix(node_id: str) -> bytes:
    """The first bytes of every envelope ``node_id`` sends."""
    return b'{"n":' + orjson.dumps(node_id) + b',"m":['


def decode_batch(data: bytes | str) -> tuple[str, list[object], list[WireError]]:
    """The sender's id, the messages of an envelope it could build, and why it could not build
    the others (each message on its own: one unknown message spoils none of its neighbours).

    Raises:
        WireError: not an envelope at all.
    """
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise WireError(f"not JSON: {error}") from error
    if not (isinstance(tree, dict) and isinstance(tree.get("n"), str)):
        raise WireError("not an envelope")
    items = tree.get("m")
    if not isinstance(items, list):
        raise WireError("not an envelope")
    messages: list[object] = []
    problems: list[WireError] = []
    for item in items:
        try:
            messages.append(_built(item))
        except WireError as error:
            problems.append(error)
        except Exception as error:  # a constructor's own check
            problems.append(WireError(f"cannot build the message: {type(error).__name__}: {error}"))
    return tree["n"], messages, problems


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types JSON carries as they are (exact types: an enum that is also a str is not one)."""
_encoders: dict[type, Callable[[Any], Any]] = {}
"""How each registered class (and tuple, dict, list) becomes JSON, by exact type."""
_decoders: dict[str, Callable[[dict[str, Any]], Any]] = {}
"""How each registered dataclass or named tuple is built again, by its tag."""
_enum_members: dict[str, dict[Any, enum.Enum]] = {}
"""Each registered enum's members by value, by the enum's name."""


def _compile(cls: type) -> None:
    """Make the encoder and decoder of a newly registered class."""
    name = cls.__name__
    if issubclass(cls, enum.Enum):
        trees = {member: {ENUM_KEY: name, "v": member.value} for member in cls}
        _encoders[cls] = trees.__getitem__
        _enum_members[name] = {member.value: member for member in cls}
        return
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    else:
        names = tuple(cls._fields)  # type: ignore[attr-defined]

    def encode_one(value: Any) -> dict[str, Any]:
        tree: dict[str, Any] = {TYPE_KEY: name}
        for field in names:
            item = getattr(value, field)
            tree[field] = item if type(item) in _PLAIN else _plain(item)
        return tree

    def decode_one(tree: dict[str, Any]) -> Any:
        kwargs = {
            key: item if type(item) in _PLAIN else _built(item)
            for key, item in tree.items()
            if key != TYPE_KEY
        }
        return cls(**kwargs)

    _encoders[cls] = encode_one
    _decoders[name] = decode_one


def _plain(value: object) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _encoders.get(kind)
    if encoder is None:
        raise TypeError(f"{kind.__qualname__} is not registered: it cannot cross the wire")
    return encoder(value)


def _plain_tuple(value: tuple[Any, ...]) -> list[Any]:
    return [item if type(item) in _PLAIN else _plain(item) for item in value]


def _plain_dict(value: dict[Any, Any]) -> dict[str, Any]:
    return {DICT_KEY: [[_plain(k), _plain(v)] for k, v in value.items()]}


def _plain_list(value: list[Any]) -> dict[str, Any]:
    # Only inside a JSON object kept as sent (a widget's settings): a list must come back a list.
    return {LIST_KEY: [_plain(item) for item in value]}


_encoders.update({tuple: _plain_tuple, dict: _plain_dict, list: _plain_list})


def _built(tree: Any) -> Any:
    kind = type(tree)
    if kind is list:
        return tuple([item if type(item) in _PLAIN else _built(item) for item in tree])
    if kind is not dict:
        return tree
    tag = tree.get(TYPE_KEY)
    if tag is not None:
        decoder = _decoders.get(tag) if type(tag) is str else None
        if decoder is None:
            raise WireError(f"unknown type {tag!r}")
        return decoder(tree)
    if ENUM_KEY in tree:
        members = _enum_members.get(tree[ENUM_KEY]) if type(tree[ENUM_KEY]) is str else None
        if members is None:
            raise WireError(f"unknown enum {tree[ENUM_KEY]!r}")
        value = tree.get("v")
        if type(value) not in _PLAIN or value not in members:
            raise WireError(f"{tree[ENUM_KEY]} has no member {value!r}")
        return members[value]
    if type(tree.get(DICT_KEY)) is list:
        return {_built(pair[0]): _built(pair[1]) for pair in tree[DICT_KEY]}
    if type(tree.get(LIST_KEY)) is list:
        return [_built(item) for item in tree[LIST_KEY]]
    raise WireError("an object without a type tag")


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _register_named(hint: Any) -> None:
    """Register the dataclasses, named tuples and enums a type hint names, however nested."""
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint) or _is_named_tuple(hint) or issubclass(hint, enum.Enum):
            register(hint)
        return
    if isinstance(hint, typing.NewType):
        return
    for arg in typing.get_args(hint):
        if arg is not Ellipsis:
            _register_named(arg)
