"""The PROXY protocol header a TCP balancer puts before a connection's own bytes (HAProxy's
``send-proxy`` and ``send-proxy-v2``), read so that a node behind the balancer knows the device's
address instead of the balancer's (docs/scaling.md, "Client addresses").

Both versions of the specification (haproxy.org, ``proxy-protocol.txt``) are read:

* version 1, one text line of at most 107 bytes:
  ``PROXY TCP4 <source> <destination> <source port> <destination port>\\r\\n``, ``TCP6`` alike,
  or ``PROXY UNKNOWN …\\r\\n`` (the balancer's own connection: keep the peer's address);
* version 2, a 16-byte binary block (a 12-byte signature, version and command, address family,
  the length of what follows) and the addresses; ``LOCAL`` (a health check) and families other
  than IPv4 and IPv6 keep the peer's address too. What follows the addresses (TLVs) is skipped.

``parse_proxy_header`` is given the bytes received so far and says how many of them the header
takes, so the transport consumes exactly those and leaves the rest (a TLS handshake, say) where
it is.
"""

import ipaddress
from dataclasses import dataclass

from pinbase.protocols.errors import ProtocolError

V1_PREFIX = b"PROXY "
V1_MAX_BYTES = 107
"""The longest version 1 line, CRLF included (the specification's own limit)."""
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED_BYTES = 16
V2_VERSION = 0x2
V2_LOCAL, V2_PROXY = 0x0, 0x1
V2_INET, V2_INET6 = 0x1, 0x2
"""The address families (the high nibble of byte 13) whose source address is read."""
V2_ADDRESS_BYTES = {V2_INET: 4, V2_INET6: 16}
"""The source address's length by family; the destination and the ports follow it."""
V2_BLOCK_BYTES = {V2_INET: 12, V2_INET6: 36}
"""The whole address block by family: what its announced length must hold at least."""
SIGNATURE_BYTES = 8
"""How many first bytes tell the versions apart (and tell them from anything else)."""
V1_PROTOCOLS = {b"TCP4": ipaddress.IPv4Address, b"TCP6": ipaddress.IPv6Address}


class ProxyHeaderError(ProtocolError):
    """The connection does not begin with a PROXY protocol header, or a malformed one."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete header: it takes the first ``length`` bytes of the connection, and names the
    client's address, or ``None`` when the connection's own peer is the client (a v1
    ``UNKNOWN``, a v2 ``LOCAL``, or an address family other than IPv4 and IPv6)."""

    length: int
    source: str | None


def parse_proxy_header(data: bytes) -> ProxyHeader | None:
    """The header at the start of ``data``, or ``None`` while more bytes are needed.

    For version 2 the header is complete once its addresses have arrived; its ``length`` may
    then exceed ``len(data)`` (TLVs still on their way), and the caller consumes that many.

    Raises:
        ProxyHeaderError: ``data`` cannot begin a PROXY protocol header.
    """
    start = data[:SIGNATURE_BYTES]
    if V2_SIGNATURE.startswith(start):
        return _version_2(data)
    if start.startswith(V1_PREFIX) or V1_PREFIX.startswith(start):
        return _version_1(data)
    raise ProxyHeaderError("the connection does not begin with a PROXY protocol header")


def _version_1(data: bytes) -> ProxyHeader | None:
    end = data.find(b"\r\n", 0, V1_MAX_BYTES)
    if end < 0:
        if len(data) >= V1_MAX_BYTES:
            raise ProxyHeaderError("the PROXY header line is longer than 107 bytes")
        return None
    fields = data[len(V1_PREFIX) : end].split(b" ")
    length = end + 2
    if fields[0] == b"UNKNOWN":
        return ProxyHeader(length, None)
    kind = V1_PROTOCOLS.get(fields[0])
    if kind is None or len(fields) != 5:
        raise ProxyHeaderError("the PROXY header line is not TCP4, TCP6 or UNKNOWN")
    try:
        source = kind(fields[1].decode("ascii"))
        kind(fields[2].decode("ascii"))
    except ValueError:  # UnicodeDecodeError included
        raise ProxyHeaderError("the PROXY header line holds a bad address") from None
    for port in fields[3:]:
        if not (port.isdigit() and len(port) <= 5 and int(port) <= 0xFFFF):
            raise ProxyHeaderError("the PROXY header line holds a bad port")
    return ProxyHeader(length, str(source))


def _version_2(data: bytes) -> ProxyHeader | None:
    if len(data) < V2_FIXED_BYTES:
        return None
    version, command = data[12] >> 4, data[12] & 0x0F
    if version != V2_VERSION or command not in (V2_LOCAL, V2_PROXY):
        raise ProxyHeaderError("the PROXY header is not version 2 LOCAL or PROXY")
    family = data[13] >> 4
    announced = int.from_bytes(data[14:16], "big")
    length = V2_FIXED_BYTES + announced
    if command == V2_LOCAL or family not in V2_ADDRESS_BYTES:
        return ProxyHeader(length, None)
    if announced < V2_BLOCK_BYTES[family]:
        raise ProxyHeaderError("the PROXY header is too short for its addresses")
    size = V2_ADDRESS_BYTES[family]
    if len(data) < V2_FIXED_BYTES + size:
        return None
    raw = data[V2_FIXED_BYTES : V2_FIXED_BYTES + size]
    source = ipaddress.IPv4Address(raw) if family == V2_INET else ipaddress.IPv6Address(raw)
    return ProxyHeader(length, str(source))
