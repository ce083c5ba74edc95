"""VMware CD-ROM user data (DESIGN §5), order 30: `user-data` or an OVF environment.

Bottlerocket reads `/media/cdrom`, mounted by a udev rule and a mount unit. Kindling
reads the ISO9660 image on `/dev/sr0` (or `/dev/cdrom`) directly with pycdlib: no
mount, no udev, no isofs module (which these very machines lack), and the same code
reads a test's planted ISO file under the root. When no device holds a medium it
falls back to a mounted `/media/cdrom`.

Exactly one of `user-data`, `ovf-env.xml`, `OVF-ENV.XML`, `ovf_env.xml`,
`OVF_ENV.XML` may exist at the top of the disc (more is an error, as upstream).
Names come from Rock Ridge, else Joliet, else plain ISO9660 shown as the kernel's
`map=normal` does (lower case, no `;1`). A file must hold every byte its directory
record announces: an image shorter than its volume descriptor says is an error,
never part of the user data.
`.xml` files are OVF (gzip sniffed, then
the `user-data` property, see `ovf.py`); `user-data` is user data as is.
"""

from __future__ import annotations

import errno
import io
from typing import Any

from kindling.errors import InputError
from kindling.host import Host
from kindling.providers import UserDataProvider
from kindling.user_data import UserData, decompress, parse_user_data

__all__ = ["CANDIDATES", "CDROM", "DEVICES", "MOUNT_POINT", "read_cdrom", "user_data_from_file"]

DEVICES = ("/dev/sr0", "/dev/cdrom")
MOUNT_POINT = "/media/cdrom"
CANDIDATES = ("user-data", "ovf-env.xml", "OVF-ENV.XML", "ovf_env.xml", "OVF_ENV.XML")
_MAX_FILE = 1024 * 1024  # an OVF document holding base64 of 64 KiB is far smaller
_NO_MEDIUM = {errno.ENOMEDIUM, errno.ENXIO, errno.ENODEV}


def user_data_from_file(name: str, data: bytes, *, source: str) -> UserData | None:
    """Decode one candidate file: OVF for `.xml` names, user data otherwise."""
    if name.lower().endswith(".xml"):
        document = decompress(data, source=source, limit=_MAX_FILE)
        from platforms.vmware.ovf import ovf_user_data  # XML stack only for OVF files

        inner = ovf_user_data(document, source=source)
        if inner is None:
            return None
        return parse_user_data(inner, source=f"{source} property user-data")
    return parse_user_data(data, source=source)


def _pick(names: list[str], where: str) -> str | None:
    found = [n for n in CANDIDATES if n in names]
    if len(found) > 1:
        raise InputError(f"found {len(found)} user data files ({', '.join(found)}), expected 1", source=where)
    return found[0] if found else None


def _iso_listing(iso: Any) -> dict[str, dict[str, str]]:
    """Top-level file names → the pycdlib path keyword that reads each one."""
    out: dict[str, dict[str, str]] = {}
    if iso.has_rock_ridge():
        for rec in iso.list_children(rr_path="/"):
            if rec.is_file() and rec.rock_ridge is not None:
                name = rec.rock_ridge.name().decode("utf-8", "replace")
                out[name] = {"rr_path": "/" + name}
        return out
    if iso.has_joliet():
        for rec in iso.list_children(joliet_path="/"):
            if rec.is_file():
                name = rec.file_identifier().decode("utf-16_be", "replace")
                out[name] = {"joliet_path": "/" + name}
        return out
    for rec in iso.list_children(iso_path="/"):
        if rec.is_file():
            ident = rec.file_identifier().decode("ascii", "replace")
            shown = ident.split(";", 1)[0].rstrip(".").lower()
            out[shown] = {"iso_path": "/" + ident}
    return out


def _check_whole(iso: Any, handle: Any, device: str) -> None:
    """The image must hold every block its primary volume descriptor announces.

    pycdlib shortens a file that runs past the end of the image to what is there,
    silently (`pycdlib.py`, "truncate the file size"): an image cut inside the user
    data would give part of it as if whole. A volume is `space_size` logical blocks;
    fewer bytes on the medium means it was cut, and nothing on it is trusted.
    """
    import os

    size = handle.seek(0, os.SEEK_END)
    need = int(iso.pvd.space_size) * int(iso.pvd.logical_block_size())
    if size < need:
        raise InputError(f"truncated image: {size} of the {need} bytes its volume descriptor "
                         "announces", source=device)


def _read_iso(host: Host, device: str) -> tuple[bool, UserData | None]:
    """(medium present?, the user data on the disc in `device`)."""
    import pycdlib
    from pycdlib.pycdlibexception import PyCdlibException

    try:
        handle = open(host.path(device), "rb")  # noqa: SIM115 - closed below, after pycdlib
    except OSError as exc:
        if exc.errno in _NO_MEDIUM:
            return False, None
        raise InputError(f"cannot open: {exc.strerror}", source=device) from exc
    with handle:
        iso = pycdlib.PyCdlib()
        try:
            iso.open_fp(handle)
        except PyCdlibException:
            raise InputError("not an ISO9660 image", source=device) from None
        except OSError as exc:
            if exc.errno in _NO_MEDIUM:
                return False, None
            raise InputError(f"cannot read: {exc.strerror}", source=device) from exc
        try:
            _check_whole(iso, handle, device)
            listing = _iso_listing(iso)
            name = _pick(list(listing), device)
            if name is None:
                return True, None
            source = f"CD-ROM {device}:{name}"
            record = iso.get_record(**listing[name])
            if record.get_data_length() > _MAX_FILE:
                raise InputError(f"larger than {_MAX_FILE // 1024} KiB", source=source)
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, **listing[name])
        except PyCdlibException:
            raise InputError("damaged ISO9660 image", source=device) from None
        except OSError as exc:  # a scratched disc: read errors mid-file
            raise InputError(f"cannot read: {exc.strerror or exc}", source=device) from exc
        finally:
            iso.close()
    return True, user_data_from_file(name, out.getvalue(), source=source)


def _read_mounted(host: Host) -> UserData | None:
    name = _pick(host.listdir(MOUNT_POINT), MOUNT_POINT)
    if name is None:
        return None
    path = f"{MOUNT_POINT}/{name}"
    if not host.path(path).is_file():
        raise InputError("not a regular file", source=path)
    data = host.read_bytes(path, limit=_MAX_FILE)
    return user_data_from_file(name, data, source=path)


def read_cdrom(host: Host) -> UserData | None:
    """User data from the first CD-ROM device with a medium, else `/media/cdrom`."""
    for device in DEVICES:
        if host.path(device).exists():
            medium, found = _read_iso(host, device)
            if medium:
                return found
    return _read_mounted(host)


CDROM = UserDataProvider(
    name="vmware-cd-rom",
    order=30,
    read=read_cdrom,
    platforms=("vmware",),
    description=f"{DEVICES[0]} or {MOUNT_POINT}",
)
