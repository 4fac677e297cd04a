"""The PROXY protocol header (``pinbase.protocols.proxy_header``): both versions as HAProxy
writes them, byte by byte, the cases that keep the peer's address, and refusals; any bytes give
a header, a wait for more, or ``ProxyHeaderError``, nothing else."""

import contextlib
import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinbase.protocols.errors import ProtocolError
from pinbase.protocols.proxy_header import (
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    parse_proxy_header,
)

TLS_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
"""The start of what follows the header: a TLS ClientHello, never read as part of it."""


def v2(command: int, family: int, addresses: bytes, tlvs: bytes = b"") -> bytes:
    """A version 2 header: signature, version 2 and ``command``, ``family``, the block."""
    block = addresses + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack(">H", len(block)) + block


V4_BLOCK = bytes([203, 0, 113, 7, 10, 0, 0, 11]) + struct.pack(">HH", 51234, 8442)
V6_BLOCK = (
    ipaddress.IPv6Address("2001:db8::7").packed
    + ipaddress.IPv6Address("2001:db8::1").packed
    + struct.pack(">HH", 51234, 8442)
)


@pytest.mark.parametrize(
    ("header", "source"),
    [
        (b"PROXY TCP4 203.0.113.7 10.0.0.11 51234 8442\r\n", "203.0.113.7"),
        (b"PROXY TCP6 2001:db8::7 2001:db8::1 51234 8442\r\n", "2001:db8::7"),
        (b"PROXY UNKNOWN\r\n", None),
        (b"PROXY UNKNOWN ffff:f::1 ffff:f::2 65535 65535\r\n", None),
        (v2(0x1, 0x11, V4_BLOCK), "203.0.113.7"),
        (v2(0x1, 0x21, V6_BLOCK), "2001:db8::7"),
        (v2(0x1, 0x12, V4_BLOCK), "203.0.113.7"),  # UDP over IPv4: the address all the same
        (v2(0x0, 0x00, b""), None),  # LOCAL: a health check of the balancer's own
        (v2(0x1, 0x00, b""), None),  # AF_UNSPEC
        (v2(0x1, 0x31, b"\x00" * 216), None),  # AF_UNIX
    ],
)
def test_a_header_names_the_client_and_takes_only_its_own_bytes(
    header: bytes, source: str | None
) -> None:
    """The header says its length and the client's address (or None: the peer's own); what
    follows is left, and every shorter prefix asks for more."""
    assert parse_proxy_header(header + TLS_HELLO) == ProxyHeader(len(header), source)
    whole = len(header)
    if header.startswith(V2_SIGNATURE):  # whole once its source address is in
        whole = 16 + {None: 0, 1: 4, 2: 16}[None if source is None else header[13] >> 4]
    for size in range(whole):
        assert parse_proxy_header(header[:size]) is None, size
    assert parse_proxy_header(header[:whole]) == ProxyHeader(len(header), source)


def test_a_v2_header_is_whole_before_its_tlvs_arrive() -> None:
    """Its length counts the TLVs that follow the addresses, still on their way: the caller
    consumes that many."""
    header = v2(0x1, 0x11, V4_BLOCK, tlvs=b"\x05\x00\x04abcd")
    assert parse_proxy_header(header[:20]) == ProxyHeader(len(header), "203.0.113.7")
    assert parse_proxy_header(header[:19]) is None


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"\x1d\x00\x01\x00\x20",  # a binary protocol login without a header
        b"\x10\x1c\x00\x04MQTT",  # an MQTT CONNECT without a header
        b"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
        b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        b"PROXY TCP4 1.2.3.\xff 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n",
        b"PROXY UNKNOWN " + b"x" * 100,
        V2_SIGNATURE + bytes([0x11, 0x11]) + struct.pack(">H", 12) + V4_BLOCK,  # version 1
        V2_SIGNATURE + bytes([0x22, 0x11]) + struct.pack(">H", 12) + V4_BLOCK,  # command 2
        v2(0x1, 0x11, V4_BLOCK[:8]),  # too short for an IPv4 block
        v2(0x1, 0x21, V4_BLOCK),  # too short for an IPv6 block
    ],
)
def test_anything_else_is_refused(data: bytes) -> None:
    """Bytes that cannot begin a header, or a malformed one: the connection is closed."""
    with pytest.raises(ProxyHeaderError):
        parse_proxy_header(data)


def test_a_refusal_is_a_protocol_error() -> None:
    """Transports close the connection on it as on any protocol error."""
    assert issubclass(ProxyHeaderError, ProtocolError)


@given(st.binary(max_size=300))
def test_any_bytes_give_a_header_a_wait_or_a_refusal(data: bytes) -> None:
    """Nothing but ``ProxyHeaderError`` ever comes out; a header never takes fewer bytes than
    its fixed part."""
    try:
        header = parse_proxy_header(data)
    except ProxyHeaderError:
        return
    assert header is None or header.length >= len(b"PROXY UNKNOWN\r\n")


@given(st.sampled_from([b"PROXY ", V2_SIGNATURE]), st.binary(max_size=200))
def test_any_bytes_after_a_signature_give_a_header_a_wait_or_a_refusal(
    signature: bytes, rest: bytes
) -> None:
    """The same, past each version's signature, where the parsing goes deep."""
    with contextlib.suppress(ProxyHeaderError):
        parse_proxy_header(signature + rest)
