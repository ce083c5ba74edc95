"""Property-based fuzzing of every parser (issue 10, item 2): only the documented error
types escape (each is an `InputError` subclass named in the parser's docstring), and
what a parser accepts is safe to use.

Added only where the component suites have no property yet (they already have:
bootconfig render→parse, dotted-key format→parse, merge associativity and flatten,
settings validation raising only SettingsError, GPT single-byte flips and torn writes).
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpu.driver_config import CopySet, LinkSet, parse_driver_config
from gpu.errors import DriverConfigError
from growpart.errors import GptCorruptError
from growpart.gpt import SIGNATURE, Header, parse_header, read_gpt, serialize_header
from kindling.bootconfig import parse_bootconfig, render_bootconfig
from kindling.bootconfig.errors import BootconfigError
from kindling.bootconfig.footer import read_footer, split_footer, write_footer
from kindling.dotted import format_key, parse_key
from kindling.errors import InputError
from kindling.merge import flatten, merge
from kindling.user_data import MAX_USER_DATA, decompress, parse_user_data
from netdog.errors import NetConfigError
from netdog.parse import parse_cmdline, parse_net_toml
from netdog.render_networkd import render_networkd
from platforms.vmware.guestinfo import decode_guestinfo
from platforms.vmware.ovf import ovf_user_data

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- a small TOML writer for generated documents (inline tables hold any shape) --------------
def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_doc(doc: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in doc.items())


def trees(keys: st.SearchStrategy[str], scalars: st.SearchStrategy[Any], leaves: int = 12) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(keys, c, max_size=4),
        max_leaves=leaves,
    )


ints = st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5000)


# -- user data ----------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=4096))
def test_user_data_bytes_raise_only_input_error(data: bytes) -> None:
    try:
        found = parse_user_data(data, source="fuzz")
    except InputError as exc:
        assert str(exc).startswith("fuzz: ")
        return
    assert found is None or isinstance(found.settings, dict)


@FAST
@given(st.binary(max_size=2048), st.integers(0, 40))
def test_gzip_wrapped_garbage_and_truncation(payload: bytes, cut: int) -> None:
    packed = gzip.compress(payload)
    data = packed[: max(len(packed) - cut, 2)]
    try:
        out = decompress(data, source="fuzz")
    except InputError:
        return
    assert out == payload  # what is accepted is exactly what was packed


@FAST
@given(st.integers(MAX_USER_DATA - 3, MAX_USER_DATA + 3), st.integers(1, 3))
def test_decompressed_size_never_exceeds_the_limit(size: int, members: int) -> None:
    data = b"".join(gzip.compress(b"#" * (size // members)) for _ in range(members))
    try:
        out = decompress(data, source="fuzz")
    except InputError as exc:
        assert "larger than 64 KiB" in str(exc)
        assert (size // members) * members > MAX_USER_DATA
        return
    assert len(out) <= MAX_USER_DATA


@FAST
@given(st.text(max_size=200), st.sampled_from([None, "raw", "base64", "b64", "gz+b64", "gzip+base64", "x", ""]))
def test_guestinfo_decoding_raises_only_input_error(value: str, encoding: str | None) -> None:
    try:
        decode_guestinfo(value, encoding)
    except InputError as exc:
        assert "guestinfo.userdata" in str(exc)


@FAST
@given(st.binary(max_size=1024))
def test_guestinfo_base64_round_trip(data: bytes) -> None:
    text = base64.b64encode(data).decode()
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76))  # line-wrapped, as tools emit it
    assert decode_guestinfo(wrapped, "base64") == data


# -- OVF ------------------------------------------------------------------------------------------
xml_names = st.sampled_from(["Environment", "PropertySection", "Property", "oe:Property", "Kind", "x"])
xml_attrs = st.dictionaries(st.sampled_from(["key", "value", "oe:key", "oe:value", "xmlns:oe"]),
                            st.sampled_from(["user-data", "aGVsbG8=", "", "%%", "H4sIAAAAAAAA"]) | st.text(max_size=8),
                            max_size=3)


@st.composite
def xml_docs(draw: st.DrawFn) -> bytes:
    def element(depth: int) -> str:
        name = draw(xml_names)
        attrs = " ".join(f'{k}="{json.dumps(v)[1:-1]}"' for k, v in draw(xml_attrs).items())
        kids = "".join(element(depth + 1) for _ in range(draw(st.integers(0, 2 if depth < 3 else 0))))
        return f"<{name} {attrs}>{kids}</{name}>"

    prolog = draw(st.sampled_from(["", '<?xml version="1.0"?>\n', '<!DOCTYPE x [<!ENTITY a "b">]>\n',
                                   '<!DOCTYPE x SYSTEM "file:///etc/passwd">\n']))
    body = element(0).encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(body)))
        body = body[:cut]
    return prolog.encode() + body


@FAST
@given(xml_docs() | st.binary(max_size=300))
def test_ovf_raises_only_input_error(doc: bytes) -> None:
    try:
        out = ovf_user_data(doc, source="fuzz")
    except InputError as exc:
        assert str(exc).startswith("fuzz: ")
        return
    assert out is None or isinstance(out, bytes)


# -- net.toml ---------------------------------------------------------------------------------------
net_keys = st.sampled_from([
    "version", "eth0", "eth1", "bond0", "myvlan", "eno1", "enp0s1", "dhcp4", "dhcp6", "static4", "static6",
    "route", "primary", "kind", "mode", "interfaces", "monitoring", "device", "id", "enabled", "optional",
    "route-metric", "addresses", "to", "from", "via", "miimon-frequency-ms", "miimon-updelay-ms",
    "miimon-downdelay-ms", "arpmon-interval-ms", "arpmon-validate", "arpmon-targets", "min-links",
    "00:11:22:33:44:55", "a" * 16, "bogus",
])
net_scalars = (
    st.booleans() | ints
    | st.sampled_from(["10.0.0.1/24", "10.0.0.1", "fe80::1/64", "default", "vlan", "bond", "active-backup",
                       "all", "eth0", "eth1", "0.0.0.0/0", "::/0", "2001:db8::1", "300.1.1.1/8", "", "x y"])
)


@FAST
@given(trees(net_keys, net_scalars, leaves=20), st.sampled_from([1, 2, 3, "2", None]))
def test_net_toml_raises_only_net_config_error(body: Any, version: Any) -> None:
    doc = body if isinstance(body, dict) else {"eth0": body}
    if version is not None:
        doc = {"version": version, **{k: v for k, v in doc.items() if k != "version"}}
    try:
        config = parse_net_toml(toml_doc(doc), "fuzz.toml")
    except NetConfigError as exc:
        assert "fuzz.toml" in str(exc)
        return
    if config is not None:  # accepted: rendering must work too
        files = render_networkd(config)
        assert all(path.startswith("/etc/systemd/network/") and ".." not in path for path in files)


@FAST
@given(st.text(max_size=300))
def test_net_toml_text_and_cmdline_raise_only_net_config_error(text: str) -> None:
    for parse in (lambda: parse_net_toml(text, "fuzz"), lambda: parse_cmdline(text)):
        try:
            parse()
        except NetConfigError:
            pass


# -- driverdog configs: nothing accepted may point outside its directories ---------------------
drv_keys = st.sampled_from([
    "nvidia", "neuron", "lib-modules-path", "objects-source", "object-files", "kernel-modules",
    "link-objects", "copy-source", "nvidia.o", "nvidia.ko", "a.ko", "../x.ko", "-x.ko", ".hidden", "bogus",
])
drv_scalars = st.sampled_from([
    "kernel/drivers/extra", "../..", "/etc", "/usr/share/nvidia", "/usr/share/../etc", "a/./b", "a//b",
    "nv.o", "-o/etc/passwd", "../shadow", "x.o", "", "/", "kernel/../../..",
]) | st.text(max_size=10) | ints | st.booleans()


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(("-", ".")) and "\0" not in name


_BAD_PATHS = ["../..", "/etc", "/usr/share/../etc", "a/./b", "a//b", "kernel/../../..", "", "/", "rel/dir", "x/.."]
_GOOD_NAMES = ["nvidia.o", "nvidia.ko", "nv-kernel.o", "a.ko", "ok_1.o", "b.ko"]
_BAD_NAMES = ["../x.ko", "-x.ko", ".hidden.o", "x/y.o", "", "..", "-"]
# mostly good values, so that whole configs are accepted often and checked for containment
rel_paths = st.sampled_from(["kernel/drivers/extra", "extra/nvidia"] * 20 + _BAD_PATHS)
abs_paths = st.sampled_from(["/usr/share/nvidia", "/opt/x/"] * 20 + _BAD_PATHS)
names = st.sampled_from(_GOOD_NAMES * 10 + _BAD_NAMES)


@st.composite
def driver_docs(draw: st.DrawFn) -> dict[str, Any]:
    """Well-shaped driverdog sets with hostile values: the containment checks get exercised."""
    doc: dict[str, Any] = {}
    for set_name in draw(st.lists(st.sampled_from(["nvidia", "neuron", "x.y", "ok_2"] * 3 + ["-bad"]), min_size=1,
                                  max_size=2, unique=True)):
        body: dict[str, Any] = {"lib-modules-path": draw(rel_paths)}
        if draw(st.booleans()):  # link mode
            body["objects-source"] = draw(abs_paths)
            body["object-files"] = {draw(names): {"link-objects": draw(st.lists(names, min_size=1, max_size=2))}}
            body["kernel-modules"] = {draw(names): {"link-objects": draw(st.lists(names, min_size=1, max_size=2))}}
        else:
            body["kernel-modules"] = {draw(names): {"copy-source": draw(abs_paths)}}
        doc[set_name] = body
    return doc


@FAST
@given(driver_docs() | trees(drv_keys, drv_scalars, leaves=24))
def test_driver_config_accepts_only_contained_paths(body: Any) -> None:
    doc = body if isinstance(body, dict) else {"nvidia": body}
    try:
        sets = parse_driver_config(toml_doc(doc), source="fuzz.toml")
    except DriverConfigError as exc:
        assert "fuzz.toml" in str(exc)
        return
    for s in sets.values():
        assert not s.lib_modules_path.startswith("/")
        assert ".." not in s.lib_modules_path.split("/")
        assert all(_safe_name(m) for m in s.module_files)
        if isinstance(s, LinkSet):
            assert s.objects_source.startswith("/") and ".." not in s.objects_source.split("/")
            for obj, links in (*s.object_files, *s.kernel_modules):
                assert _safe_name(obj) and all(_safe_name(x) for x in links)
        else:
            assert isinstance(s, CopySet)
            for _, source in s.kernel_modules:
                assert source.startswith("/") and ".." not in source.split("/")


@FAST
@given(st.text(max_size=200))
def test_driver_config_text_raises_only_its_error(text: str) -> None:
    try:
        parse_driver_config(text, source="fuzz")
    except DriverConfigError:
        pass


# -- bootconfig -------------------------------------------------------------------------------------
bc_text = st.lists(
    st.sampled_from(["kernel", "init", "foo", "a-b", "x_1", ".", "=", "+=", ":=", "{", "}", ";", ",", "#", "\n",
                     " ", '"', "'", "value", "1", "\t", "\\"]),
    max_size=40,
).map("".join)


@FAST
@given(bc_text | st.text(max_size=200))
def test_bootconfig_parse_raises_only_bootconfig_error_and_round_trips(text: str) -> None:
    try:
        cfg = parse_bootconfig(text, source="fuzz")
    except BootconfigError as exc:
        assert str(exc).startswith("fuzz")
        return
    rendered = render_bootconfig(cfg)
    again = parse_bootconfig(rendered, source="rendered")
    assert again == cfg and render_bootconfig(again) == rendered  # a fixed point after one render


@FAST
@given(bc_text, st.integers(0, 4096))
def test_footer_round_trip(text: str, offset: int) -> None:
    try:
        data = write_footer(text, offset=offset)
    except BootconfigError:
        return  # the footer writer refuses what the kernel would refuse
    assert (offset + len(data)) % 4 == 0  # the whole initrd stays 4-byte aligned
    initrd = b"\x07" * offset + data
    assert read_footer(initrd) == text
    assert parse_bootconfig(read_footer(initrd)) == parse_bootconfig(text)


@FAST
@given(st.binary(max_size=200), st.binary(max_size=40))
def test_footer_reader_on_garbage(prefix: bytes, tail: bytes) -> None:
    for data in (prefix, prefix + b"#BOOTCONFIG\n", prefix + struct.pack("<II", len(tail), 7) + b"#BOOTCONFIG\n"):
        try:
            split_footer(data + tail)
            split_footer(data)
        except BootconfigError:
            pass


# -- dotted keys and merge ------------------------------------------------------------------------
@FAST
@given(st.text(alphabet=st.sampled_from('ab."\\ -_'), max_size=20) | st.text(max_size=20))
def test_parse_key_raises_only_input_error_and_is_canonical(text: str) -> None:
    try:
        segments = parse_key(text)
    except InputError:
        return
    assert segments  # ("" is a legal, quoted segment: `a."".b`)
    assert parse_key(format_key(segments)) == segments
    assert format_key(parse_key(format_key(segments))) == format_key(segments)


plain = st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2)
settings_trees = st.recursive(
    st.dictionaries(st.sampled_from("xyz"), plain, max_size=3),
    lambda c: st.builds(lambda t, p: {**t, **p}, st.dictionaries(st.sampled_from("ab"), c, max_size=2),
                        st.dictionaries(st.sampled_from("xyz"), plain, max_size=2)),
    max_leaves=10,
)


@FAST
@given(settings_trees, settings_trees)
def test_merge_later_wins_per_leaf(a: dict[str, Any], b: dict[str, Any]) -> None:
    merged = dict(flatten(merge(a, b)))
    theirs, ours = dict(flatten(a)), dict(flatten(b))
    for path, value in ours.items():
        assert merged[path] == value  # every leaf of the later provider wins, lists whole
    for path, value in theirs.items():
        if path not in ours:
            assert merged[path] == value  # and no earlier leaf is lost
    assert set(merged) == set(theirs) | set(ours)
    assert merge(a, {}) == a and merge({}, b) == b


# -- GPT: headers whose CRC is right but whose fields are insane ------------------------------------
def _header_sector(fields: tuple[int, ...], sector: int = 512) -> bytes:
    size, my, alt, first, last, elba, num, esize, ecrc = fields
    raw = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", SIGNATURE, 0x10000, size, 0, 0, my, alt, first, last,
                                b"g" * 16, elba, num, esize, ecrc))
    span = min(max(size, 92), sector)  # a size beyond the sector is refused before the CRC
    raw += bytes(span - len(raw))
    struct.pack_into("<I", raw, 16, zlib.crc32(bytes(raw[:span])) & 0xFFFFFFFF)
    return bytes(raw).ljust(sector, b"\0")[:sector]


u64 = st.integers(0, 2**64 - 1) | st.integers(0, 200)
u32 = st.integers(0, 2**32 - 1) | st.sampled_from([0, 1, 8, 92, 128, 256, 512, 4096])
header_fields = st.tuples(st.integers(92, 512) | u32, st.just(1), u64, u64, u64, u64, u32, u32, u32)


@FAST
@given(header_fields, st.binary(max_size=64))
def test_checksummed_insane_headers_raise_only_input_error(fields: tuple[int, ...], noise: bytes) -> None:
    disk = bytearray(64 * 1024)
    disk[510:512] = b"\x55\xaa"
    disk[446:462] = bytes([0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0]) + struct.pack("<I", 127)
    disk[512:1024] = _header_sector(fields)
    disk[1024:1024 + len(noise)] = noise

    def read(off: int, n: int) -> bytes:
        return bytes(disk[off:off + n]).ljust(n, b"\0")

    try:
        gpt = read_gpt(read, len(disk), 512, source="fuzz")
    except InputError:
        return
    for p in gpt.partitions:  # accepted: every partition lies inside the usable area
        assert gpt.header.first_usable <= p.first_lba <= p.last_lba <= gpt.header.last_usable


@FAST
@given(header_fields.filter(lambda f: 92 <= f[0] <= 512))
def test_gpt_header_round_trip(fields: tuple[int, ...]) -> None:
    sector = _header_sector(fields)
    try:
        header = parse_header(sector, 1, 512)
    except GptCorruptError:
        return
    assert isinstance(header, Header)
    assert serialize_header(header, 512) == sector
    assert parse_header(serialize_header(header, 512), 1, 512) == header
