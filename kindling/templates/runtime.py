"""Run the shipped templates' precompiled code without importing Jinja2 (DESIGN §8).

Why: the Python Jinja2 generates for a shipped template (precompiled.json) needs only a
small part of `jinja2.runtime` — a context, the sandbox's attribute and call rules,
strict undefined values, `LoopContext` and five builtin filters — yet importing
Jinja2 and MarkupSafe costs a first boot ~15 ms and ~7 MB of its peak RSS. This module
provides exactly those names with Jinja2's semantics, so a boot that renders only
shipped templates never imports Jinja2. Generated code that reaches for anything else
(macros, includes, autoescape, other filters) is refused by `unsupported()` when the
table is built and is compiled by Jinja2 at render time, as before.

tests/templates/test_runtime.py renders every shipped template both ways over
thousands of settings trees and compares the output and the error byte for byte.
User templates never come here: they are compiled by Jinja2's sandbox.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, NoReturn

from kindling.templates.errors import HelperError
from kindling.templates.quoting import FILTERS
from kindling.templates.view import undefined_setting_message

__all__ = [
    "MAX_OUTPUT", "Loaded", "SecurityError", "TemplateRuntimeError", "UndefinedError",
    "check_binop", "load", "unsupported",
]

MAX_OUTPUT = 4 * 1024 * 1024
IMPORT_LINE = "from jinja2.runtime import "


class _Missing:
    """The `missing` sentinel of generated code (a name not yet assigned)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "missing"


missing: Any = _Missing()


class TemplateRuntimeError(Exception):
    """What Jinja2 raises as `TemplateRuntimeError`; `message` as Jinja2's."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.message = message


class UndefinedError(TemplateRuntimeError):
    """An undefined value was used (printed, iterated, compared, called)."""


class SecurityError(TemplateRuntimeError):
    """The sandbox refused an attribute or a call."""


def check_binop(op: str, left: Any, right: Any) -> None:
    """The caps on `**` and `*` both engines apply (a template cannot build a huge value)."""
    if op == "**" and isinstance(right, int) and right > 64:
        raise HelperError("exponent too large")
    if op == "*":
        seq, times = (left, right) if isinstance(left, str | list) else (right, left)
        if isinstance(seq, str | list) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
            raise HelperError("repetition too large")


def _object_type_repr(obj: Any) -> str:
    if obj is None:
        return "None"
    if obj is Ellipsis:
        return "Ellipsis"
    cls = type(obj)
    if cls.__module__ == "builtins":
        return f"{cls.__name__} object"
    return f"{cls.__module__}.{cls.__name__} object"


class Undefined:
    """Jinja2's lenient undefined: empty when printed, false, iterates as nothing."""

    __slots__ = ("_undefined_exception", "_undefined_hint", "_undefined_name", "_undefined_obj")

    def __init__(self, hint: str | None = None, obj: Any = missing, name: Any = None,
                 exc: type[TemplateRuntimeError] = UndefinedError) -> None:
        self._undefined_hint = hint
        self._undefined_obj = obj
        self._undefined_name = name
        self._undefined_exception = exc

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is missing:
            return f"{self._undefined_name!r} is undefined"
        if not isinstance(self._undefined_name, str):
            return f"{_object_type_repr(self._undefined_obj)} has no element {self._undefined_name!r}"
        return f"{_object_type_repr(self._undefined_obj)!r} has no attribute {self._undefined_name!r}"

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise self._undefined_exception(self._undefined_message)

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        self._fail()

    __add__ = __radd__ = __sub__ = __rsub__ = _fail
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _fail
    __pos__ = __neg__ = __call__ = __getitem__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = _fail
    __int__ = __float__ = __complex__ = __pow__ = __rpow__ = _fail

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return id(type(self))

    def __str__(self) -> str:
        return ""

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[Any]:
        yield from ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "Undefined"


class SettingUndefined(Undefined):
    """Strict (every use but a test fails) and naming the setting's full key."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        named = undefined_setting_message(self._undefined_obj, self._undefined_name)
        return named if named is not None else str(Undefined._undefined_message.fget(self))  # type: ignore[attr-defined]

    __iter__ = __str__ = __len__ = Undefined._fail
    __eq__ = __ne__ = __bool__ = __hash__ = __contains__ = Undefined._fail


class _EvalContext:
    __slots__ = ("autoescape", "environment", "name", "volatile")

    def __init__(self, environment: _Environment, name: str) -> None:
        self.environment = environment
        self.name = name
        self.autoescape = False
        self.volatile = False


class _Context:
    """The template's variables: `vars` (assigned at top level) over `parent` (given)."""

    __slots__ = ("environment", "eval_ctx", "exported_vars", "name", "parent", "vars")

    def __init__(self, environment: _Environment, parent: dict[str, Any], name: str) -> None:
        self.environment = environment
        self.parent = parent
        self.name = name
        self.vars: dict[str, Any] = {}
        self.exported_vars: set[str] = set()
        self.eval_ctx = _EvalContext(environment, name)

    def resolve_or_missing(self, key: str) -> Any:
        if key in self.vars:
            return self.vars[key]
        if key in self.parent:
            return self.parent[key]
        return missing


_UNSAFE_BY_TYPE: tuple[tuple[type, frozenset[str]], ...] = (
    (types.GeneratorType, frozenset({"gi_frame", "gi_code"})),
    (types.CoroutineType, frozenset({"cr_frame", "cr_code"})),
    (types.AsyncGeneratorType, frozenset({"ag_code", "ag_frame"})),
)


def _is_safe_attribute(obj: Any, attr: str) -> bool:
    """The sandbox's rule: nothing private, no frames or code, no `mro`."""
    if attr.startswith("_"):
        return False
    if isinstance(obj, types.CodeType | types.TracebackType | types.FrameType):
        return False
    if isinstance(obj, type):
        return attr != "mro"
    return not any(isinstance(obj, kind) and attr in names for kind, names in _UNSAFE_BY_TYPE)


def _is_str_format(value: Any) -> bool:
    return (isinstance(value, types.MethodType | types.BuiltinMethodType)
            and value.__name__ in ("format", "format_map") and isinstance(value.__self__, str))


class _Environment:
    """What generated code asks of `environment`: lookups, calls, filters, tests."""

    def __init__(self) -> None:
        self.undefined: type[Undefined] = SettingUndefined
        self.concat = "".join
        self.filters: dict[str, Callable[..., Any]] = {
            **FILTERS, "default": _default, "d": _default, "dictsort": _dictsort, "int": _int, "join": _join,
            "length": len,
        }
        self.tests: dict[str, Callable[..., bool]] = {
            "none": lambda value: value is None,
            "string": lambda value: isinstance(value, str),
            "defined": lambda value: not isinstance(value, Undefined),
            "undefined": lambda value: isinstance(value, Undefined),
        }

    def _checked(self, obj: Any, attr: str, value: Any) -> Any:
        if _is_str_format(value):  # Jinja2 wraps it in its sandboxed formatter; no shipped template formats
            raise SecurityError("str.format is not available to precompiled templates")
        if _is_safe_attribute(obj, attr):
            return value
        return self.undefined(f"access to attribute {attr!r} of {type(obj).__name__!r} object is unsafe.",
                              name=attr, obj=obj, exc=SecurityError)

    def getattr(self, obj: Any, attribute: str) -> Any:
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
        else:
            return self._checked(obj, attribute, value)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        try:
            return obj[argument]
        except (TypeError, LookupError):
            if isinstance(argument, str):
                try:
                    value = getattr(obj, argument)
                except AttributeError:
                    pass
                else:
                    return self._checked(obj, argument, value)
        return self.undefined(obj=obj, name=argument)

    def call(self, context: _Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if getattr(obj, "unsafe_callable", False) or getattr(obj, "alters_data", False):
            raise SecurityError(f"{obj!r} is not safely callable")
        if getattr(obj, "jinja_pass_arg", None) is not None:  # a Jinja2 helper: needs Jinja2's context
            raise TemplateRuntimeError("a Jinja2 context function cannot run without Jinja2")
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return obj(*args, **kwargs)
        except StopIteration:
            return self.undefined("value was undefined because a callable raised a StopIteration exception")

    def call_binop(self, context: _Context, op: str, left: Any, right: Any) -> Any:
        check_binop(op, left, right)
        return _BINOPS[op](left, right)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow}


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    if isinstance(value, Undefined) or (boolean and not value):
        return default_value
    return value


def _dictsort(value: Mapping[Any, Any], case_sensitive: bool = False, by: str = "key",
              reverse: bool = False) -> list[tuple[Any, Any]]:
    if by not in ("key", "value"):
        raise TemplateRuntimeError('You can only sort by either "key" or "value"')
    pos = 0 if by == "key" else 1

    def sort_key(item: tuple[Any, Any]) -> Any:
        key = item[pos]
        return key.lower() if not case_sensitive and isinstance(key, str) else key

    return sorted(value.items(), key=sort_key, reverse=reverse)


def _int(value: Any, default: int = 0, base: int = 10) -> int:
    try:
        return int(value, base) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def _join(eval_ctx: _EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        raise TemplateRuntimeError("join(attribute=...) is not available to precompiled templates")
    return str(d).join(map(str, value))


class LoopContext:
    """`loop` in a `{% for %}`: index, first/last, neighbours, length."""

    def __init__(self, iterable: Iterable[Any], undefined: type[Undefined], recurse: Any = None,
                 depth0: int = 0) -> None:
        self._iterable = iterable
        self._iterator = iter(iterable)
        self._undefined = undefined
        self.depth0 = depth0
        self.index0 = -1
        self._length: int | None = None
        self._after: Any = missing
        self._current: Any = missing
        self._before: Any = missing
        self._last_changed_value: Any = missing

    @property
    def length(self) -> int:
        if self._length is None:
            try:
                self._length = len(self._iterable)  # type: ignore[arg-type]
            except TypeError:
                rest = list(self._iterator)
                self._iterator = iter(rest)
                self._length = len(rest) + self.index + (self._after is not missing)
        return self._length

    def __len__(self) -> int:
        return self.length

    @property
    def depth(self) -> int:
        return self.depth0 + 1

    @property
    def index(self) -> int:
        return self.index0 + 1

    @property
    def revindex0(self) -> int:
        return self.length - self.index

    @property
    def revindex(self) -> int:
        return self.length - self.index0

    @property
    def first(self) -> bool:
        return self.index0 == 0

    def _peek_next(self) -> Any:
        if self._after is missing:
            self._after = next(self._iterator, missing)
        return self._after

    @property
    def last(self) -> bool:
        return self._peek_next() is missing

    @property
    def previtem(self) -> Any:
        if self.first:
            return self._undefined("there is no previous item")
        return self._before

    @property
    def nextitem(self) -> Any:
        rv = self._peek_next()
        if rv is missing:
            return self._undefined("there is no next item")
        return rv

    def cycle(self, *args: Any) -> Any:
        if not args:
            raise TypeError("no items for cycling given")
        return args[self.index0 % len(args)]

    def changed(self, *value: Any) -> bool:
        if self._last_changed_value != value:
            self._last_changed_value = value
            return True
        return False

    def __iter__(self) -> LoopContext:
        return self

    def __next__(self) -> tuple[Any, LoopContext]:
        if self._after is not missing:
            rv = self._after
            self._after = missing
        else:
            rv = next(self._iterator)
        self.index0 += 1
        self._before = self._current
        self._current = rv
        return rv, self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.index}/{self.length}>"


def _str_join(seq: Iterable[Any]) -> str:
    return "".join(map(str, seq))


def _identity(x: Any) -> Any:
    return x


ENVIRONMENT = _Environment()
# The names generated code takes from `jinja2.runtime` that this module provides.
PROVIDED: dict[str, Any] = {
    "LoopContext": LoopContext, "TemplateRuntimeError": TemplateRuntimeError, "Undefined": Undefined,
    "identity": _identity, "internalcode": _identity, "missing": missing, "str_join": _str_join,
}
_ENV_ATTRS = frozenset({"undefined", "concat", "filters", "tests", "getattr", "getitem", "call", "call_binop"})
_CONTEXT_ATTRS = frozenset({"resolve_or_missing", "vars", "exported_vars", "eval_ctx"})
# Jinja2's default globals other than `range` and `dict` (which both engines provide).
_GLOBALS_NEEDING_JINJA2 = frozenset({"lipsum", "cycler", "joiner", "namespace"})
GLOBALS: dict[str, Any] = {"dict": dict}


def unsupported(code: str) -> str | None:
    """Why this generated code needs Jinja2 itself (None: this module runs it)."""
    import ast  # only when the table is built

    first, _, body = code.partition("\n")
    if not first.startswith(IMPORT_LINE):
        return "no jinja2.runtime import line"
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        return f"does not parse: {exc.msg}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in ("Markup", "escape", "markup_join", "Macro", "Namespace", "TemplateReference",
                           "TemplateNotFound"):
                return f"uses {node.id}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "environment" and node.attr not in _ENV_ATTRS:
                return f"uses environment.{node.attr}"
            if node.value.id == "context" and node.attr not in _CONTEXT_ATTRS:
                return f"uses context.{node.attr}"
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            owner = node.value
            if (isinstance(owner.value, ast.Name) and owner.value.id == "environment"
                    and owner.attr in ("filters", "tests") and isinstance(node.slice, ast.Constant)):
                table = ENVIRONMENT.filters if owner.attr == "filters" else ENVIRONMENT.tests
                if node.slice.value not in table:
                    return f"uses the {owner.attr[:-1]} {node.slice.value!r}"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "getattr"
              and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in ("format", "format_map")):
            return "uses str.format (Jinja2's sandboxed formatter)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "LoopContext" and (len(node.args) != 2 or node.keywords):
                return "uses a recursive loop"
            if (node.func.id == "resolve" and node.args and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in _GLOBALS_NEEDING_JINJA2):
                return f"uses the global {node.args[0].value}"
        elif (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "blocks" for t in node.targets)
              and not (isinstance(node.value, ast.Dict) and not node.value.keys)):
            return "uses blocks"
    return None


class Loaded:
    """A precompiled template ready to render: its root function and its line table."""

    __slots__ = ("debug_info", "filename", "name", "root")

    def __init__(self, name: str, filename: str, root: Callable[..., Iterator[str]],
                 debug_info: list[tuple[int, int]]) -> None:
        self.name = name
        self.filename = filename
        self.root = root
        self.debug_info = debug_info

    def generate(self, variables: dict[str, Any]) -> Iterator[str]:
        return self.root(_Context(ENVIRONMENT, {**GLOBALS, **variables}, self.name))

    def line(self, tb: TracebackType | None) -> int | None:
        """The template line of the deepest template frame (Jinja2's debug_info mapping)."""
        python_line = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                python_line = tb.tb_lineno
            tb = tb.tb_next
        if python_line is None:
            return None
        for template_line, code_line in reversed(self.debug_info):
            if code_line <= python_line:
                return template_line
        return 1


def load(name: str, compiled: types.CodeType, filename: str) -> Loaded:
    """Run generated code compiled under `filename` (errors and the deadline see its
    frames) with its `jinja2.runtime` import line blank (precompiled.Precompiled.runtime_code)."""
    namespace: dict[str, Any] = {"environment": ENVIRONMENT, "__file__": filename, **PROVIDED}
    exec(compiled, namespace)  # code Jinja2 generated from a shipped template
    pairs = [tuple(int(n) for n in part.split("=")) for part in str(namespace.get("debug_info", "")).split("&")
             if "=" in part]
    return Loaded(name, filename, namespace["root"], [(a, b) for a, b in pairs])
