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
from collections.abc import Iterable
from typing import Any, TypeVar

import orjson

T = TypeVar("T", bound=type)

TYPE_KEY = "@"
ENUM_KEY = "@e"
DICT_KEY = "@d"
LIST_KEY = "@l"


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
    if issubclass(cls, enum.Enum):
        return
    for hint in typing.get_type_hints(cls).values():
        _register_named(hint)


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


def _plain(value: object) -> Any:
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum is a str
        return _plain_enum(value)
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    if isinstance(value, tuple):
        if type(value) is not tuple:  # a named tuple
            return _plain_named(value, value._fields)  # type: ignore[attr-defined]
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.init]
        return _plain_named(value, names)
    if isinstance(value, dict):
        return {DICT_KEY: [[_plain(k), _plain(v)] for k, v in value.items()]}
    if isinstance(value, list):  # inside a JSON object kept as sent (a widget's settings)
        return {LIST_KEY: [_plain(item) for item in value]}
    raise TypeError(f"{type(value).__qualname__} cannot cross the wire")


def _plain_named(value: object, names: Any) -> dict[str, Any]:
    cls = type(value)
    if _classes.get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__qualname__} is not registered")
    tree: dict[str, Any] = {TYPE_KEY: cls.__name__}
    for name in names:
        tree[name] = _plain(getattr(value, name))
    return tree


def _plain_enum(value: enum.Enum) -> dict[str, Any]:
    cls = type(value)
    if _classes.get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__qualname__} is not registered")
    return {ENUM_KEY: cls.__name__, "v": value.value}


def _built(tree: Any) -> Any:
    if isinstance(tree, list):
        return tuple(_built(item) for item in tree)
    if not isinstance(tree, dict):
        return tree
    if TYPE_KEY in tree:
        cls = _known(tree[TYPE_KEY])
        if issubclass(cls, enum.Enum):
            raise WireError(f"{cls.__name__} is an enum")
        kwargs = {str(k): _built(v) for k, v in tree.items() if k != TYPE_KEY}
        return cls(**kwargs)
    if ENUM_KEY in tree:
        cls = _known(tree[ENUM_KEY])
        if not issubclass(cls, enum.Enum):
            raise WireError(f"{cls.__name__} is not an enum")
        return cls(tree.get("v"))
    if DICT_KEY in tree and isinstance(tree[DICT_KEY], list):
        return {_built(pair[0]): _built(pair[1]) for pair in tree[DICT_KEY]}
    if LIST_KEY in tree and isinstance(tree[LIST_KEY], list):
        return [_built(item) for item in tree[LIST_KEY]]
    raise WireError("an object without a type tag")


def _known(name: object) -> type:
    cls = _classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise WireError(f"unknown type {name!r}")
    return cls


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
