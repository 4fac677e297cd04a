"""The ways an MQTT connection refuses something, and who is to blame (the types are the
shared ``protocols.errors``):

    ProtocolError         the client broke MQTT (framing, packet order, a limit): close the
                          connection without an answer (MQTT 3.1.1 §4.8, MQTT 5 §4.13)
    LocalProtocolError    the server used the connection out of order: a bug in the caller
    Undeliverable         this client cannot take this message (larger than its ``rxbuff``):
                          drop it and log it

Only ``ProtocolError`` ever comes out of ``receive_data`` and ``next_event``, whatever the peer
sends. A well-formed publish to a topic Pinbase does not know is not an error of the protocol:
the Blynk layer answers it on ``downlink/diag`` (device-protocols.md §2.4).
"""

from pinbase.protocols.errors import LocalProtocolError, ProtocolError, Undeliverable

__all__ = ["LocalProtocolError", "ProtocolError", "Undeliverable"]
