"""The three ways a sans-IO connection refuses something, and who is to blame; every protocol
core raises these same types, so a transport handles both protocols alike.

    ProtocolError         the peer sent bytes that break the protocol: close the connection
    LocalProtocolError    the server used the connection out of order: a bug in the caller
    Undeliverable         this peer cannot take this message (too big for its buffer, say):
                          drop it and log it

Only ``ProtocolError`` ever comes out of ``receive_data`` and ``next_event``, whatever the peer
sends. Each protocol's ``errors`` module says what breaks it.
"""


class ProtocolError(Exception):
    """The peer broke the protocol; the connection must be closed."""


class LocalProtocolError(Exception):
    """The server asked for something the protocol forbids in this state (a programming error)."""


class Undeliverable(Exception):
    """The message cannot reach this peer; the caller drops it and logs why."""
