"""The receiving end every sans-IO connection shares (h11's contract): ``receive_data`` buffers
bytes in the protocol's frame decoder until the peer closes its side (``b""``), and
``next_event`` answers ``NEED_DATA`` while nothing complete is buffered.
"""

from enum import Enum
from typing import Literal, Protocol

from pinbase.protocols.errors import LocalProtocolError, ProtocolError


class Sentinel(Enum):
    """Values ``next_event`` returns that are not events."""

    NEED_DATA = "NEED_DATA"


NEED_DATA: Literal[Sentinel.NEED_DATA] = Sentinel.NEED_DATA
"""Nothing complete is buffered: call ``receive_data`` first."""


class Decoder(Protocol):
    """A protocol's frame decoder, as far as the stream feeds it."""

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        ...

    @property
    def buffered(self) -> int:
        """Bytes held that do not form a whole frame yet."""
        ...


class Inbound:
    """Bytes from the peer on their way to ``decoder``, and whether the peer closed its side."""

    __slots__ = ("_decoder", "_ended")

    def __init__(self, decoder: Decoder) -> None:
        self._decoder = decoder
        self._ended = False

    def receive(self, data: bytes, *, discard: bool) -> None:
        """Buffer ``data``; ``b""`` marks the end of the stream. ``discard``: the connection is
        closed, so bytes still arriving are dropped.

        Raises:
            LocalProtocolError: data after the end of the stream.
        """
        if self._ended:
            if data:
                raise LocalProtocolError("data received after the end of the stream")
            return
        if not data:
            self._ended = True
        elif not discard:
            self._decoder.feed(data)

    def is_over(self) -> bool:
        """True once the peer closed its side and every whole frame was read; False while more
        may come.

        Raises:
            ProtocolError: the stream ended inside a frame.
        """
        if not self._ended:
            return False
        if self._decoder.buffered:
            raise ProtocolError("stream ended inside a frame")
        return True
