"""`@record`: value classes for the boot path without `dataclasses` (DESIGN §8).

`dataclasses` imports inspect, ast, dis and tokenize (7-12 ms here) and compiles every
generated method with `exec` (about 0.5 ms a class); a boot built 49 of them before
doing any work (bench/RESULTS.md, profile section). A record is what those classes
used: fields from the class annotations, in order, with defaults or `field(
default_factory=...)`, an `__init__` (positional or `kw_only`), `__eq__`, `__repr__`,
and with `frozen=True` immutability and a `__hash__`; `order=True` adds the
comparisons. The methods are shared closures over the field list, so defining a
record costs microseconds. mypy sees it as a dataclass (PEP 681 `dataclass_transform`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs ~3 ms to import: for the checker only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_kw: object) -> Callable[[T], T]:
        return lambda f: f


__all__ = ["FrozenInstanceError", "field", "record"]

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as dataclasses.FrozenInstanceError)."""


class _Field:
    __slots__ = ("default", "factory", "repr")

    def __init__(self, default: object, factory: Callable[[], object] | None, repr: bool) -> None:
        self.default = default
        self.factory = factory
        self.repr = repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, repr: bool = True) -> Any:
    """A field's default (or a factory for a fresh mutable one), or `repr=False` for secrets."""
    return _Field(default, default_factory, repr)


def _fields_of(cls: type) -> list[tuple[str, object, Callable[[], object] | None, bool]]:
    out: list[tuple[str, object, Callable[[], object] | None, bool]] = []
    seen: set[str] = set()
    for base in reversed(cls.__mro__[1:]):
        for spec in getattr(base, "__record_fields__", ()):
            if spec[0] not in seen:
                out.append(spec)
                seen.add(spec[0])
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (no inspect)
        if "ClassVar" in str(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            spec = (name, value.default, value.factory, value.repr)
        else:
            spec = (name, value, None, True)
        if name in seen:
            out = [spec if s[0] == name else s for s in out]
        else:
            out.append(spec)
            seen.add(name)
        if isinstance(value, _Field):  # as dataclasses: a factory leaves no class attribute
            if value.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
    return out


@dataclass_transform(field_specifiers=(field,))
def record(
    cls: type[T] | None = None, *, frozen: bool = False, kw_only: bool = False, order: bool = False
) -> Any:
    """Turn the annotated class into a record (see the module docstring)."""

    def wrap(klass: type[T]) -> type[T]:
        _build(klass, frozen, kw_only, order)
        return klass

    return wrap if cls is None else wrap(cls)


def _build(cls: type, frozen: bool, kw_only: bool, order: bool) -> None:
    specs = _fields_of(cls)
    names = tuple(s[0] for s in specs)
    shown = tuple(s[0] for s in specs if s[3])
    positional = 0 if kw_only else len(names)
    post_init = getattr(cls, "__post_init__", None)
    setter = object.__setattr__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > positional:
            raise TypeError(f"{cls.__name__}() takes {positional} positional arguments but {len(args)} were given")
        for i, (name, default, factory, _r) in enumerate(specs):
            if i < len(args):
                if name in kwargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif factory is not None:
                value = factory()
            elif default is not _MISSING:
                value = default
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
            setter(self, name, value)
        if kwargs:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if post_init is not None:
            post_init(self)

    def _astuple(self: Any) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in names)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _astuple(self) == _astuple(other)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    cls.__init__ = __init__  # type: ignore[misc]
    cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__  # type: ignore[method-assign,assignment]
    cls.__record_fields__ = tuple(specs)  # type: ignore[attr-defined]
    setattr(cls, "__match_args__", names)  # noqa: B010
    if frozen:

        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        def __hash__(self: Any) -> int:
            return hash(_astuple(self))

        cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]
        cls.__hash__ = __hash__  # type: ignore[method-assign,assignment]
    elif "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
        cls.__hash__ = None  # type: ignore[assignment]
    if order:

        def _cmp(op: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]) -> Callable[[Any, Any], Any]:
            def compare(self: Any, other: Any) -> Any:
                if other.__class__ is not self.__class__:
                    return NotImplemented
                return op(_astuple(self), _astuple(other))

            return compare

        cls.__lt__ = _cmp(lambda a, b: a < b)  # type: ignore[operator]
        cls.__le__ = _cmp(lambda a, b: a <= b)  # type: ignore[operator]
        cls.__gt__ = _cmp(lambda a, b: a > b)  # type: ignore[operator]
        cls.__ge__ = _cmp(lambda a, b: a >= b)  # type: ignore[operator]
