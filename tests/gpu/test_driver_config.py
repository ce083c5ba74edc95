"""driverdog TOML: Bottlerocket's fixtures (both directories) and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpu.driver_config import (
    CopySet,
    LinkSet,
    load_driver_configs,
    module_name,
    parse_driver_config,
    select_sets,
)
from gpu.errors import DriverConfigError, ModulesSetNotFound
from kindling.host import Host

DRIVERDOG = "bottlerocket/driverdog"


def test_linking_fixture(conformance: Path) -> None:
    path = conformance / DRIVERDOG / "src/tests/linking.conf"
    sets = parse_driver_config(path.read_text(), source=str(path))
    s = sets["linking-driver"]
    assert isinstance(s, LinkSet)
    assert s.lib_modules_path == "kernel/drivers/extra/linking"
    assert s.objects_source == "/usr/share/linking/module-objects.d"
    assert dict(s.object_files) == {"main.o": ("first.o", "second.o"),
                                    "secondary.o": ("third.o", "fourth.o")}
    assert s.module_files == ["main.ko", "secondary.ko", "other.ko"]
    assert dict(s.kernel_modules)["main.ko"] == ("main.o", "main.mod.o")


def test_copying_fixture(conformance: Path) -> None:
    path = conformance / DRIVERDOG / "src/tests/copying.conf"
    s = parse_driver_config(path.read_text(), source=str(path))["copying-driver"]
    assert isinstance(s, CopySet)
    assert dict(s.kernel_modules) == {
        m: "/usr/share/factory/copying-driver" for m in ("main.ko", "secondary.ko", "other.ko")
    }
    assert [module_name(m) for m in s.module_files] == ["main", "secondary", "other"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing-object-source.conf", r'invalid-driver\.objects-source: required in link mode'),
        ("missing-object-files.conf",
         r'invalid-driver\.kernel-modules\."main\.ko": needs link-objects \(link mode\) '
         r"or copy-source \(copy mode\)"),
    ],
)
def test_invalid_fixtures_refused(conformance: Path, name: str, message: str) -> None:
    path = conformance / DRIVERDOG / "src/tests/invalid" / name
    with pytest.raises(DriverConfigError, match=message) as err:
        parse_driver_config(path.read_text(), source=str(path))
    assert str(err.value).startswith(f"{path}: ")


def test_packaged_configs_as_built(conformance: Path, tmp_path: Path) -> None:
    """The kmod-6.1-nvidia templates after the build's `sed s|__NVIDIA_MODULES__|…|`,
    loaded together from one directory as driverdog does."""
    packaged = conformance / DRIVERDOG / "packaged/kmod-6.1-nvidia"
    root = tmp_path / "root"
    drivers = root / "etc/kindling/drivers"
    drivers.mkdir(parents=True)
    for template in packaged.glob("*.toml.in"):
        text = template.read_text().replace("__NVIDIA_MODULES__", "/usr/share/nvidia/modules")
        (drivers / template.name.removesuffix(".in")).write_text(text)
    sets = load_driver_configs(Host(root))
    assert sorted(sets) == ["nvidia-open-gpu", "nvidia-open-gpu-copy-only", "nvidia-tesla"]
    tesla = sets["nvidia-tesla"]
    assert isinstance(tesla, LinkSet)
    assert tesla.module_files == ["nvidia.ko", "nvidia-modeset.ko", "nvidia-uvm.ko"]
    assert isinstance(sets["nvidia-open-gpu"], CopySet)
    assert [s.name for s in select_sets(sets, None)] == sorted(sets)
    with pytest.raises(ModulesSetNotFound, match="no modules set named nvidia-grid"):
        select_sets(sets, "nvidia-grid")


def test_unrendered_template_refused(conformance: Path) -> None:
    path = conformance / DRIVERDOG / "packaged/kmod-6.1-nvidia/nvidia-open-gpu-config.toml.in"
    with pytest.raises(DriverConfigError, match=r'copy-source: must be an absolute path'):
        parse_driver_config(path.read_text(), source=str(path))


LINK = """\
[s]
lib-modules-path = "{lib}"
objects-source = "{src}"
[s.object-files."{obj}"]
link-objects = ["{dep}"]
[s.kernel-modules."{mod}"]
link-objects = ["{obj}", "x.mod.o"]
"""
OK = {"lib": "kernel/extra", "src": "/usr/share/x", "obj": "x.o", "dep": "a.o", "mod": "x.ko"}


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("lib", "../../../etc", "s.lib-modules-path"),
        ("lib", "kernel/../../..", "s.lib-modules-path"),
        ("lib", "/etc/systemd", "s.lib-modules-path"),
        ("lib", "", "s.lib-modules-path"),
        ("src", "relative/dir", "s.objects-source"),
        ("src", "/usr/share/../../etc", "s.objects-source"),
        ("dep", "../../etc/shadow", r"s\.object-files\.\"x\.o\"\.link-objects\[0\]"),
        ("dep", "sub/a.o", r"s\.object-files\.\"x\.o\"\.link-objects\[0\]"),
        ("mod", "../../x.ko", r"s\.kernel-modules\.\"\.\./\.\./x\.ko\""),
        ("mod", "-r.ko", r"s\.kernel-modules\.\"-r\.ko\""),
        ("obj", "..", r"s\.object-files\.\"\.\.\""),
    ],
)
def test_path_traversal_refused(field: str, value: str, key: str) -> None:
    text = LINK.format(**{**OK, field: value})
    with pytest.raises(DriverConfigError, match=rf"^drv\.toml: {key}: ") as err:
        parse_driver_config(text, source="drv.toml")
    if field in ("src", "dep", "lib") and value:
        assert value not in str(err.value), "values are never echoed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[s\nx=1", r"not valid TOML"),
        ("", r"defines no modules set"),
        ('[s]\nlib-modules-path = "k"\nkernel-modules = {}', r"s\.kernel-modules: must name"),
        ('[s]\nkernel-modules."a.ko".copy-source = "/x"', r"s\.lib-modules-path: required"),
        ('[s]\nlib-modules-path = "k"\nkernel-modules."a.ko".copy-source = "/x"\nbogus = 1',
         r"s\.bogus: unknown key"),
        ('[s]\nlib-modules-path = "k"\nobjects-source = "/o"\n'
         'kernel-modules."a.ko".link-objects = ["a.o"]\nkernel-modules."b.ko".copy-source = "/x"',
         r"s\.kernel-modules: mixes link-objects and copy-source"),
        ('[s]\nlib-modules-path = "k"\nkernel-modules."a.ko" = '
         '{copy-source = "/x", link-objects = ["a.o"]}',
         r'"a\.ko": link-objects and copy-source exclude each other'),
        ('[s]\nlib-modules-path = "k"\nobjects-source = "/o"\n'
         'kernel-modules."a.ko".copy-source = "/x"', r"s\.objects-source: only allowed in link"),
        ('[s]\nlib-modules-path = "k"\nobjects-source = "/o"\n'
         'kernel-modules."a.ko".link-objects = []', r"link-objects: must be a non-empty list"),
        ('s = 3', r"^f: s: must be a table"),
        ('["bad set"]\nlib-modules-path = "k"', r'"bad set": set names are'),
    ],
)
def test_bad_configs_refused(text: str, message: str) -> None:
    with pytest.raises(DriverConfigError, match=message):
        parse_driver_config(text, source="f")


def test_directory_rules(host: Host, root: Path) -> None:
    drivers = root / "etc/kindling/drivers"
    drivers.mkdir(parents=True)
    body = '[{n}]\nlib-modules-path = "k"\nkernel-modules."a.ko".copy-source = "/x"\n'
    (drivers / "10-a.toml").write_text(body.format(n="one"))
    (drivers / ".hidden.toml").write_text("not toml at all [")
    (drivers / "10-a.toml.rpmsave").write_text(body.format(n="one"))
    (drivers / "sub.toml").mkdir()
    assert sorted(load_driver_configs(host)) == ["one"]
    (drivers / "20-b.toml").write_text(body.format(n="one"))
    with pytest.raises(DriverConfigError, match=r"20-b\.toml: one: modules set already "
                                                r"defined in .*10-a\.toml"):
        load_driver_configs(host)
    (drivers / "20-b.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(Exception, match=r"20-b\.toml: not UTF-8"):
        load_driver_configs(host)
    assert load_driver_configs(host, "/etc/absent") == {}
