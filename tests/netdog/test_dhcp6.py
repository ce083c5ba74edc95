"""DHCPv6 message encoding and decoding (pure; the exchange itself runs against dnsmasq in
test_apply_rig.py)."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from netdog.dhcp6 import (
    OPT_DNS,
    OPT_DOMAINS,
    OPT_IA_NA,
    OPT_IAADDR,
    OPT_SERVERID,
    OPT_STATUS,
    REPLY,
    build_message,
    decode_domains,
    duid_ll,
    lease6_from_json,
    lease6_json,
    lease_from_reply,
    parse_message,
)


def _opt(code: int, data: bytes) -> bytes:
    return struct.pack("!HH", code, len(data)) + data


def _reply(status: int = 0, with_addr: bool = True) -> bytes:
    addr = _opt(OPT_IAADDR, ipaddress.IPv6Address("2001:db8::26").packed
                + struct.pack("!II", 100, 120))
    ia = b"KDG6" + struct.pack("!II", 60, 105) + (addr if with_addr else b"")
    return build_message(REPLY, b"\x01\x02\x03", [
        (OPT_SERVERID, b"\x00\x01srv"),
        (OPT_IA_NA, ia),
        (OPT_STATUS, struct.pack("!H", status) + b"x"),
        (OPT_DNS, ipaddress.IPv6Address("2001:db8::1").packed
         + ipaddress.IPv6Address("2001:db8::2").packed),
        (OPT_DOMAINS, b"\x05corp6\x07example\x00\x01a\x00"),
    ])


def test_reply_to_lease_and_back() -> None:
    msg = parse_message(_reply())
    assert msg.kind == REPLY and msg.xid == b"\x01\x02\x03"
    lease = lease_from_reply(msg, "eth0", 5.0)
    assert lease is not None
    assert (lease.address, lease.preferred, lease.valid, lease.t1, lease.t2) == (
        "2001:db8::26", 100, 120, 60, 105)
    assert lease.name_servers == ("2001:db8::1", "2001:db8::2")
    assert lease.search == ("corp6.example", "a")
    again, obtained = lease6_from_json(lease6_json(lease, 1234.5))
    assert obtained == 1234.5 and again.address == lease.address
    assert again.server_id == lease.server_id


def test_failed_status_or_no_address_gives_no_lease() -> None:
    assert lease_from_reply(parse_message(_reply(status=2)), "eth0", 0) is None
    assert lease_from_reply(parse_message(_reply(with_addr=False)), "eth0", 0) is None


def test_truncated_messages_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_message(b"\x07\x01")
    with pytest.raises(ValueError):
        parse_message(b"\x07\x01\x02\x03\x00\x17\x00\x10abc")


def test_duid_and_domains() -> None:
    assert duid_ll("02:7f:0c:51:82:af") == bytes.fromhex("00030001027f0c5182af")
    assert decode_domains(b"") == ()
