"""The jinja2-free runtime (kindling/templates/runtime.py) against Jinja2 itself.

Every shipped template is rendered both ways — from its precompiled code on the
runtime, and freshly compiled by Jinja2's sandbox — over the settings trees the other
template tests use, every reference example, and a sweep that drops each leaf or
replaces it with a value of another type. Output, or the error (message, template line,
setting), must be the same byte for byte. Then: `loop` behaves as Jinja2's, code the
runtime cannot run is recognised, and a render needs no Jinja2 at all.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import jinja2.runtime
import pytest

from kindling.merge import merge
from kindling.templates import engine, precompiled
from kindling.templates.declaration import Declaration, shipped_declarations
from kindling.templates.engine import _env, _filename
from kindling.templates.errors import TemplateError
from kindling.templates.render import render_declaration
from kindling.templates.runtime import LoopContext, Undefined, unsupported
from tests.templates.test_shipped import REGISTRY, _ca_b64, _reference_examples, aws_k8s, maximal_kubernetes

REPO = Path(__file__).resolve().parents[2]
ECS = {"ecs": {"cluster": "my-cluster", "instance-attributes": {"attribute1": "foo"},
               "allow-privileged-containers": True, "logging-drivers": ["json-file", "awslogs"],
               "metadata-service-rps": 100, "metadata-service-burst": 150, "image-cleanup-enabled": False,
               "container-stop-timeout": "1m1s", "reserved-memory": 32, "enable-spot-instance-draining": True}}
# What a leaf is replaced with in the sweep: each type a user (or a bug) could put there.
MUTATIONS: list[Any] = ["", "x", 0, -3, 2.5, True, None, [], ["a", 1], {}, {"k": "v"}]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _ca_b64(tmp_path_factory.mktemp("ca"))


_CACHES: dict[bool, dict[Any, Any]] = {False: {}, True: {}}


@contextmanager
def _backend(jinja: bool) -> Iterator[None]:
    """Render with Jinja2 (no precompiled table) or with the runtime, each with its own cache."""
    saved_cache, saved_lookup = engine._COMPILED, precompiled.precompiled
    engine._COMPILED = _CACHES[jinja]
    if jinja:
        precompiled.precompiled = lambda name, source: None
    try:
        yield
    finally:
        engine._COMPILED, precompiled.precompiled = saved_cache, saved_lookup


def _outcome(decl: Declaration, settings: dict[str, Any]) -> object:
    try:
        return [(r.path, r.text, r.mode, r.owner) for r in render_declaration(decl, settings)]
    except TemplateError as exc:
        return ("error", exc.detail, exc.line, exc.setting)


def _both(settings: dict[str, Any], decls: list[Declaration]) -> list[tuple[str, object, object]]:
    with _backend(jinja=False):
        runtime = [_outcome(d, settings) for d in decls]
    with _backend(jinja=True):
        jinja = [_outcome(d, settings) for d in decls]
    return [(d.name, r, j) for d, r, j in zip(decls, runtime, jinja, strict=True)]


def _trees(ca: str) -> dict[str, dict[str, Any]]:
    tls = aws_k8s(ca)
    tls["kubernetes"].update({"authentication-mode": "tls", "bootstrap-token": "abcdef.0123456789abcdef"})
    standalone = {"kubernetes": {"standalone-mode": True, "cluster-dns-ip": "10.0.0.10"}}
    demo = tomllib.loads((REPO / "demo/root/var/lib/kindling/user-data.toml").read_text())["settings"]
    return {"aws-k8s": aws_k8s(ca), "maximal": maximal_kubernetes(ca), "tls": tls, "standalone": standalone,
            "registry": merge(aws_k8s(ca), copy.deepcopy(REGISTRY)), "ecs": copy.deepcopy(ECS), "demo": demo,
            "empty": {}}


def _leaves(tree: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(tree, list) and tree:
        for index, value in enumerate(tree):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _mutated(tree: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(tree)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DROP = object()


def _readers(decls: list[Declaration], top: str) -> list[Declaration]:
    return [d for d in decls if any(p == top or p.startswith(top + ".") or top.startswith(p + ".")
                                    for p in d.prefixes)]


def test_every_shipped_template_renders_as_jinja2_over_the_example_trees(ca: str) -> None:
    decls = list(shipped_declarations().values())
    trees = _trees(ca)
    for line, example in _reference_examples():
        trees[f"reference line {line}"] = merge(aws_k8s(ca), tomllib.loads(example)["settings"])
    rendered = 0
    for label, tree in trees.items():
        for name, runtime, jinja in _both(tree, decls):
            assert runtime == jinja, f"{label}: {name}"
            rendered += isinstance(runtime, list) and bool(runtime)
    assert rendered > 40  # the comparison saw real output, not only skips and errors


def test_runtime_matches_jinja2_when_any_leaf_is_dropped_or_retyped(ca: str) -> None:
    decls = list(shipped_declarations().values())
    compared = errors = 0
    for label in ("maximal", "registry", "ecs", "tls"):
        base = _trees(ca)[label]
        for path in _leaves(base):
            readers = _readers(decls, str(path[0]))
            for value in (_DROP, *MUTATIONS):
                for name, runtime, jinja in _both(_mutated(base, path, value), readers):
                    assert runtime == jinja, f"{label} {path} = {value!r}: {name}"
                    compared += 1
                    errors += isinstance(runtime, tuple)
    assert compared > 3000 and errors > 100, (compared, errors)  # errors were compared too, not only output


def _loop_view(loop: Any) -> list[Any]:
    seen = []
    for item, ctx in loop:
        prev, nxt = ctx.previtem, ctx.nextitem
        seen.append((item, ctx.index0, ctx.index, ctx.revindex, ctx.revindex0, ctx.first, ctx.last, ctx.length,
                     len(ctx), ctx.depth, ctx.cycle("a", "b", "c"), ctx.changed(item % 2),
                     None if isinstance(prev, Undefined | jinja2.Undefined) else prev,
                     None if isinstance(nxt, Undefined | jinja2.Undefined) else nxt))
    return seen


@pytest.mark.parametrize("make", [lambda: [3, 1, 4, 1, 5], lambda: iter([2, 7, 1]), lambda: [], lambda: range(1)],
                         ids=["list", "iterator", "empty", "one"])
def test_loop_context_is_jinja2s(make: Any) -> None:
    ours = _loop_view(LoopContext(make(), Undefined))
    theirs = _loop_view(jinja2.runtime.LoopContext(make(), jinja2.Undefined))
    assert ours == theirs


def _code(source: str) -> str:
    code: str = _env().compile(source, name="t", filename=_filename("t"), raw=True)
    return code


@pytest.mark.parametrize(("source", "why"), [
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "Macro"),
    ("{% include 'other' %}", "environment.get_template"),
    ("{{ settings.x|upper }}", "the filter 'upper'"),
    ("{% if x is mapping %}y{% endif %}", "the test 'mapping'"),
    ("{% for a in b recursive %}{{ loop(a) }}{% endfor %}", "recursive loop"),
    ("{% set ns = namespace(a=1) %}{{ ns.a }}", "the global namespace"),
    ("{{ lipsum() }}", "the global lipsum"),
    ("{% block b %}x{% endblock %}", "blocks"),
    ("{{ '{}'.format(settings.x) }}", "format"),
])
def test_code_the_runtime_cannot_run_is_recognised(source: str, why: str) -> None:
    reason = unsupported(_code(source))
    assert reason is not None and why in reason, reason


SYNTHETIC = [
    "{{ settings.a.b }}", "{{ settings.a['odd key'] }}", "{{ settings.a['odd key'].x }}",
    "{% set x = {} %}{{ x.y }}", "{{ [1][3] }}", "{{ settings.a.b|default('d') }}",
    "{{ settings.a.n * 3 }}", "{{ settings.a.n ** 70 }}", "{{ 'ab' * 3000000 }}", "{{ settings.a.l|join(',') }}",
    "{% for k, v in settings.a|dictsort %}{{ loop.index }}{{ k }}={{ v }};{% endfor %}",
    "{% for k, v in settings.a|dictsort(false, 'value') %}{{ k }}{% endfor %}",
    "{% for i in settings.a.l %}{{ loop.revindex }}{{ loop.previtem }}{{ '|' if not loop.last }}{% endfor %}",
    "{{ settings.a.s|int }}{{ settings.a.f|int }}{{ 'zz'|int(7) }}{{ '0x1f'|int(0, 16) }}",
    "{{ settings.a.l is none }}{{ settings.a.s is string }}{{ settings.missing is defined }}",
    "{{ settings.a.__class__ }}", "{{ settings.a.items.__self__ }}", "{{ settings.a.l.append(1) }}{{ settings.a.l }}",
    "{{ setting('a.n') }}{{ setting('a.nope', 5) }}", "{{ setting('a.nope') }}",
    "{% if settings.a.n > 1 %}big{% else %}small{% endif %}{{ 'x' if settings.a.zzz is defined }}",
    "{{ settings.a.s + settings.a.n }}", "{{ settings.a.n / 0 }}", "{{ fail('no ' ~ settings.a.s) }}",
    "{{ settings.a.l[settings.a.n] }}", "{{ settings.a.d.k }}{{ settings.a.d['k'] }}{{ settings.a.d.get('q', 1) }}",
    "{{ settings.a.s.upper() }}{{ settings.a.s.startswith('h') }}{{ settings.a.l|length }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}{{ range(200000) }}", "{{ settings.outside }}",
    "{{ dict(a=1) }}{% do settings.a.d.update({'z': 2}) %}{{ settings.a.d|dictsort }}",
    "a\n{% for i in settings.a.l %}\n{{ i }}\n{% endfor %}\n\n{{ settings.a.nope }}\n",
    "{% set x = 1 %}\n{% if x %}\n  {{ settings.a.s|base64_decode }}\n{% endif %}\n",
    "{{ settings.a.l|length }}\n{{ settings.a['odd key'].zz }}",
]
TREE = {"a": {"odd key": {"y": 1}, "n": 4, "l": ["p", "q", "r"], "s": "hi", "f": "2.7", "d": {"k": "v"}},
        "outside": 1}


@pytest.mark.parametrize("source", SYNTHETIC)
def test_general_template_code_runs_as_on_jinja2(source: str) -> None:
    """Beyond the shipped templates: errors, undefined names, the sandbox and the caps."""
    import jinja2 as j

    from kindling.templates.precompiled import Precompiled

    code = _code(source)
    if unsupported(code) is not None:
        pytest.skip(f"not for the runtime: {unsupported(code)}")
    results: list[object] = []
    for jinja in (False, True):
        with _backend(jinja):
            if not jinja:
                precompiled.precompiled = lambda name, source: Precompiled(_code(source), True, j.__version__)
            engine._COMPILED = {}
            try:
                results.append(engine.render_template("t", source, copy.deepcopy(TREE), ("a",)))
            except TemplateError as exc:
                results.append(("error", exc.detail, exc.line, exc.setting))
    assert results[0] == results[1]


def test_code_the_runtime_runs() -> None:
    source = ("{% set k = settings.kubernetes|default({}) %}{% for a, b in k|dictsort %}{{ a }}={{ b|int }}"
              "{{ ',' if not loop.last }}{% endfor %}{{ [1, 2]|join('-') }}{% if k is none %}n{% endif %}")
    assert unsupported(_code(source)) is None


_NO_JINJA = """
import sys
sys.modules["jinja2"] = None  # any import of it fails
from kindling.templates.declaration import shipped_declarations
from kindling.templates.render import render_declaration
import json
settings = json.loads(sys.argv[1])
files = [r.path for d in shipped_declarations().values() for r in render_declaration(d, settings)]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "markupsafe") and sys.modules[m])
print(json.dumps([files, loaded]))
"""


def test_shipped_templates_render_without_jinja2_installed(ca: str) -> None:
    import json

    tree = merge(maximal_kubernetes(ca), copy.deepcopy(REGISTRY))
    done = subprocess.run([sys.executable, "-c", _NO_JINJA, json.dumps(tree)], capture_output=True, text=True,
                          timeout=60, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    files, loaded = json.loads(done.stdout)
    assert "/etc/kubernetes/kubelet/config.json" in files and "/etc/containerd/conf.d/90-kindling.toml" in files
    assert loaded == []


def test_a_user_template_is_still_compiled_by_jinja2s_sandbox() -> None:
    source = "{{ settings.motd.__class__.__mro__ }}"
    assert precompiled.precompiled("user", source) is None  # not a shipped template: Jinja2 compiles it
    with pytest.raises(TemplateError) as info:
        engine.render_template("user", source, {"motd": "x"}, ("motd",))
    unsafe = "access to attribute '__class__' of 'SettingStr' object is unsafe."
    assert info.value.detail == f"refused by the sandbox: {unsafe}"
