"""The three ways a device connection can refuse something, and who is to blame (the types are
the shared ``protocols.errors``):

    ProtocolError         the device sent bytes that break the protocol: close the connection
    LocalProtocolError    the server used the connection out of order: a bug in the caller
    Undeliverable         this device cannot take this message (too big for its buffer, or no
                          room left to hold it before the handshake ends): drop it and log it

Only ``ProtocolError`` ever comes out of ``receive_data`` and ``next_event``, whatever the peer
sends. A malformed message that leaves the framing intact is not an exception: it becomes a
``Rejected`` event that the server answers with a status code (spec §1.4, §1.10).
"""

from pinbase.protocols.errors import LocalProtocolError, ProtocolError, Undeliverable

__all__ = ["LocalProtocolError", "ProtocolError", "Undeliverable"]
