"""Fixtures for growpart: session image templates, per-test copies, loop devices, locks."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.growpart.growpart_rig import Images, Loops, MiB, grow_file, sh


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    if shutil.which("sgdisk") is None:
        pytest.skip("sgdisk (gdisk) not installed")
    return Images(tmp_path_factory.mktemp("templates"))


@pytest.fixture
def image(images: Images, tmp_path: Path) -> Iterator[object]:
    """Call with a template name and new size: a fresh sparse copy, enlarged."""

    def make(name: str = "one", grow_to: int | None = 16 * MiB) -> Path:
        src = getattr(images, name)()
        dst = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.img"
        sh("cp", "--sparse=always", str(src), str(dst))
        if grow_to is not None:
            grow_file(dst, grow_to)
        return dst

    yield make


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[Loops]:
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("needs root and losetup for loop devices")
    rig = Loops(tmp_path)
    try:
        yield rig
    finally:
        rig.release()


@pytest.fixture
def hold_lock() -> Iterator[object]:
    """Call with a path: holds its BSD lock (as udev would) until the test ends."""
    fds: list[int] = []

    def hold(path: Path | str) -> None:
        fd = os.open(path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        fds.append(fd)

    yield hold
    for fd in fds:
        os.close(fd)
