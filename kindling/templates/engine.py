"""Render one template: Jinja2's sandbox, strict undefined, a deadline, errors with lines.

Why these choices (DESIGN §10):
- `SandboxedEnvironment`: user templates are code from `/etc/kindling/templates.d`;
  the sandbox refuses `__class__`/`__globals__` walks and other escapes.
- Strict undefined: a typo or an unset setting fails the render with the key's name
  instead of writing an empty value into a consumer's config.
- A deadline: Jinja has no `while`, but nested loops can still run for hours. A line
  tracer on the template's own frames (per thread, so it works in the API server's
  connection threads, where SIGALRM cannot) raises once the deadline passes, and
  `range` is capped. Output is capped too.
- Errors name the template, the template line (from the frames Jinja rewrites to
  template lines) and the setting (from the view's keys), never a value.
This module loads only when something renders, and Jinja2 only when a template is not
one the jinja2-free runtime runs from precompiled code (runtime.py): a user template,
an edited shipped one, or a table made for other options.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from kindling.dotted import parse_key
from kindling.templates import runtime
from kindling.templates.errors import HelperError, OutsidePrefixes, RenderTimeout, SkipFile, TemplateError
from kindling.templates.quoting import FILTERS
from kindling.templates.view import SettingMap, make_view, undefined_setting_message

if TYPE_CHECKING:
    import jinja2

    from kindling.templates.precompiled import Precompiled

__all__ = ["DEFAULT_TIMEOUT", "MAX_OUTPUT", "render_template"]

DEFAULT_TIMEOUT = 2.0
MAX_OUTPUT = runtime.MAX_OUTPUT
MAX_RANGE = 100_000
_MISSING = object()
# What the generated code depends on, besides the template and Jinja2's version (a
# precompiled template is used only when all of these are unchanged: precompiled.py).
OPTIONS: dict[str, object] = {
    "autoescape": False,
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": ["jinja2.ext.do", "jinja2.ext.loopcontrols"],
}
INTERCEPTED_BINOPS = frozenset({"*", "**"})


def options_key() -> str:
    return repr((sorted(OPTIONS.items()), sorted(INTERCEPTED_BINOPS), sorted(FILTERS)))


def _filename(name: str) -> str:
    return f"<kindling template {name}>"


def _environment() -> jinja2.sandbox.SandboxedEnvironment:
    import jinja2
    import jinja2.sandbox

    class SettingUndefined(jinja2.StrictUndefined):
        """Names the full key of an unset setting (`settings.kubernetes.api-server`)."""

        __slots__ = ()

        @property
        def _undefined_message(self) -> str:
            named = undefined_setting_message(self._undefined_obj, self._undefined_name)
            if named is not None:
                return named
            return str(jinja2.StrictUndefined._undefined_message.fget(self))  # type: ignore[attr-defined]

    class Sandbox(jinja2.sandbox.SandboxedEnvironment):
        intercepted_binops = INTERCEPTED_BINOPS

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            runtime.check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

    env = Sandbox(undefined=SettingUndefined, **OPTIONS)
    env.filters.update(FILTERS)
    return env


_ENV: list[Any] = []


def _env() -> jinja2.sandbox.SandboxedEnvironment:
    if not _ENV:
        _ENV.append(_environment())
    env: jinja2.sandbox.SandboxedEnvironment = _ENV[0]
    return env


def _capped_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise HelperError(f"range longer than {MAX_RANGE}")
    return r


def _setting_reader(view: SettingMap) -> Callable[..., Any]:
    def setting(key: str, default: Any = _MISSING) -> Any:
        """`setting("kubernetes.max-pods", 110)`: a dotted key, checked like `settings.…`."""
        node: Any = view
        for segment in parse_key(str(key), source="setting()"):
            if isinstance(node, SettingMap):
                if not dict.__contains__(node, segment):
                    node._check(segment)
                    node = _MISSING
                    break
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                node = _MISSING
                break
        if node is _MISSING:
            if default is _MISSING:
                raise HelperError(f"settings.{key} is not set", f"settings.{key}")
            return default
        return node

    return setting


def _fail(message: str) -> None:
    raise HelperError(str(message))


def _skip() -> None:
    raise SkipFile()


def _template_line(tb: TracebackType | None, filename: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class _Deadline:
    """A per-thread line tracer on the template's frames that raises past `at`."""

    def __init__(self, filename: str, seconds: float) -> None:
        self.filename = filename
        self.at = time.monotonic() + seconds
        self.previous: Any = None

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise RenderTimeout()

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.check()
        return self._local

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self._local if frame.f_code.co_filename == self.filename else None

    def __enter__(self) -> _Deadline:
        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)


class _Compiled:
    """A template ready to render, from either backend: its chunks and its error lines."""

    __slots__ = ("generate", "line")

    def __init__(self, generate: Callable[[dict[str, Any]], Iterator[str]],
                 line: Callable[[TracebackType | None], int | None]) -> None:
        self.generate = generate
        self.line = line


_COMPILED: dict[tuple[str, str], _Compiled] = {}


def _jinja_compile(name: str, source: str, entry: Precompiled | None) -> _Compiled:
    import jinja2

    # generated code is Jinja2's internals: usable only by the Jinja2 that generated it
    code = entry.code if entry is not None and entry.jinja2 == jinja2.__version__ else None
    env = _env()
    filename = _filename(name)
    try:
        if code is not None:  # a shipped template: Jinja2's output for it, generated ahead
            compiled = compile(code, filename, "exec", dont_inherit=True)  # as Jinja2 compiles
        else:
            compiled = env.compile(source, name=name, filename=filename)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(name, f"syntax error: {exc.message}", line=exc.lineno) from None
    template = env.template_class.from_code(env, compiled, env.make_globals(None))
    return _Compiled(template.generate, lambda tb: _template_line(tb, filename))


def _compile(name: str, source: str) -> _Compiled:
    """Compiled once per process: an API server applies the same templates on every commit."""
    cached = _COMPILED.get((name, source))
    if cached is not None:
        return cached
    from kindling.templates.precompiled import precompiled

    entry = precompiled(name, source)
    if entry is not None and entry.runtime:
        loaded = runtime.load(name, entry.runtime_code(name, _filename(name)), _filename(name))
        template = _Compiled(loaded.generate, loaded.line)
    else:
        template = _jinja_compile(name, source, entry)
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    _COMPILED[(name, source)] = template
    return template


def _generate(template: _Compiled, context: dict[str, Any], deadline: _Deadline) -> str:
    chunks: list[str] = []
    size = 0
    stream: Iterator[str] = template.generate(context)
    with deadline:
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise HelperError(f"output larger than {MAX_OUTPUT} bytes")
            deadline.check()
            chunks.append(chunk)
    return "".join(chunks)


def _backend_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(undefined, sandbox refusal, any other template error) of the runtime and, once
    loaded, of Jinja2 (a process may have rendered with both)."""
    undefined: tuple[type[Exception], ...] = (runtime.UndefinedError,)
    security: tuple[type[Exception], ...] = (runtime.SecurityError,)
    other: tuple[type[Exception], ...] = (runtime.TemplateRuntimeError,)
    if sys.modules.get("jinja2") is not None:
        import jinja2
        import jinja2.exceptions

        undefined += (jinja2.UndefinedError,)
        security += (jinja2.exceptions.SecurityError,)
        other += (jinja2.TemplateError,)
    return undefined, security, other


def render_template(
    name: str,
    source: str,
    settings: dict[str, Any],
    prefixes: tuple[str, ...],
    *,
    extra: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Render `source` against the live `settings` cut to `prefixes`.

    Raises `TemplateError` naming the template, its line and the setting at fault,
    and `SkipFile` when the template calls `skip()` (no file for these settings).
    """
    template = _compile(name, source)
    view = make_view(settings, prefixes)
    context: dict[str, Any] = {
        "settings": view,
        "setting": _setting_reader(view),
        "range": _capped_range,
        "fail": _fail,
        "skip": _skip,
        **(extra or {}),
    }
    undefined, security, other = _backend_errors()
    try:
        return _generate(template, context, _Deadline(_filename(name), timeout))
    except RenderTimeout:
        raise TemplateError(name, f"render took longer than {timeout:g} s (a runaway loop?)") from None
    except (OutsidePrefixes, HelperError) as exc:
        raise TemplateError(name, str(exc), line=template.line(exc.__traceback__), setting=exc.key) from None
    except undefined as exc:
        message = str(getattr(exc, "message", None) or exc)
        setting = None
        if message.startswith("settings."):  # the key may hold quoted spaces: cut the known suffix
            unset = message.endswith(" is not set")
            setting = message.removesuffix(" is not set") if unset else message.split(" ", 1)[0]
        raise TemplateError(name, message, line=template.line(exc.__traceback__), setting=setting) from None
    except security as exc:
        raise TemplateError(name, f"refused by the sandbox: {exc}", line=template.line(exc.__traceback__)) from None
    except other as exc:
        message = str(getattr(exc, "message", None) or exc)
        raise TemplateError(name, message, line=template.line(exc.__traceback__)) from None
    except RecursionError:
        raise TemplateError(name, "recursion too deep") from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as exc:
        # the message may quote a value (a secret): only the kind of error is named
        raise TemplateError(name, f"{type(exc).__name__} while rendering",
                            line=template.line(exc.__traceback__)) from None
