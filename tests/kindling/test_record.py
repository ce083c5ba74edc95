"""`@record` behaves as the dataclasses it replaced on the boot path (kindling/record.py)."""

from __future__ import annotations

import pytest

from kindling.record import FrozenInstanceError, field, record


@record(frozen=True)
class Point:
    x: int
    y: str = "a"
    tags: tuple[str, ...] = ()


@record(frozen=True, kw_only=True)
class Named:
    name: str
    port: int | None = None


@record(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0


@record
class Bag:
    size: int
    items: list[str] = field(default_factory=list)
    secret: str = field(default="", repr=False)


def test_init_defaults_eq_hash_repr() -> None:
    p = Point(1)
    assert p == Point(1, "a", ()) == Point(x=1) and p != Point(2)
    assert hash(p) == hash(Point(1)) and {p: 1}[Point(1)] == 1
    assert repr(p) == "Point(x=1, y='a', tags=())"
    assert Point.__match_args__ == ("x", "y", "tags")


def test_frozen_refuses_assignment() -> None:
    with pytest.raises(FrozenInstanceError):
        Point(1).x = 2  # type: ignore[misc]


def test_kw_only_and_bad_arguments() -> None:
    assert Named(name="a").port is None
    with pytest.raises(TypeError):
        Named("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected"):
        Point(1, z=2)  # type: ignore[call-arg]


def test_order_and_factories_and_hidden_fields() -> None:
    assert sorted([Version(2), Version(1, 5), Version(1)]) == [Version(1), Version(1, 5), Version(2)]
    b = Bag(1, secret="s3cret")
    b.items.append("x")
    assert Bag(1).items == [] and "s3cret" not in repr(b)
    with pytest.raises(TypeError):
        hash(b)


def test_subclass_extends_fields() -> None:
    @record(frozen=True)
    class Point3(Point):
        z: int = 0

    assert Point3(1, "b", (), 3).z == 3 and Point3(1) != Point(1)
