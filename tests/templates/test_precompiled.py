"""Shipped templates compiled ahead (kindling/templates/precompiled.py): the table is
current, its code is exactly what Jinja2 compiles now, and it is used only for the
template it was made from."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import CodeType

import jinja2
import pytest

from kindling.templates import declaration
from kindling.templates import precompiled as precompiled_module
from kindling.templates.declaration import shipped_declarations
from kindling.templates.engine import _env, _filename, options_key, render_template
from kindling.templates.precompiled import MODULES, TABLE, build_modules, build_table, precompiled, template_key
from kindling.templates.runtime import unsupported


def _shipped_pairs() -> list[tuple[str, str]]:
    pairs = []
    for decl in shipped_declarations().values():
        pairs.append((decl.name, decl.source))
        if decl.each is not None:
            pairs.append((f"{decl.name} (path)", decl.path))
    return pairs


def test_table_covers_exactly_the_shipped_templates() -> None:
    """An edited, added or removed shipped template fails here until the tool is rerun
    (tools/precompile_templates.py), whatever Jinja2 is installed."""
    with open(TABLE, encoding="utf-8") as fh:
        data = json.load(fh)
    assert set(data["templates"]) == {template_key(n, s) for n, s in _shipped_pairs()}
    assert data["options"] == options_key()


def test_table_is_what_this_jinja2_generates() -> None:
    """With another Jinja2 the generated code may differ; what matters then is that the
    runtime's entries still match their templates (test_runtime.py compares outputs)."""
    with open(TABLE, encoding="utf-8") as fh:
        data = json.load(fh)
    if data["jinja2"] != jinja2.__version__:
        pytest.skip(f"table made by Jinja2 {data['jinja2']}, {jinja2.__version__} installed")
    assert data == build_table()


def test_every_shipped_template_runs_without_jinja2() -> None:
    """The point of the runtime: a boot rendering only shipped templates loads no Jinja2."""
    for name, source in _shipped_pairs():
        entry = precompiled(name, source)
        assert entry is not None and entry.runtime, name
        assert unsupported(entry.code) is None, name


def test_precompiled_code_is_a_fresh_compile() -> None:
    """Same code object as env.compile: same output, same template lines in errors, the
    same file name for the render deadline's tracer."""
    env = _env()
    for name, source in _shipped_pairs():
        entry = precompiled(name, source)
        assert entry is not None, name
        if entry.jinja2 != jinja2.__version__:
            pytest.skip(f"table made by Jinja2 {entry.jinja2}")
        fresh = env.compile(source, name=name, filename=_filename(name))
        assert compile(entry.code, _filename(name), "exec", dont_inherit=True) == fresh


def test_only_the_template_it_was_made_from() -> None:
    name, source = _shipped_pairs()[0]
    assert precompiled(name, source) is not None
    assert precompiled(name, source + "{# edited #}") is None
    assert precompiled(f"{name}-copy", source) is None


def test_an_edited_shipped_template_renders_its_own_source() -> None:
    decl = shipped_declarations()["kubeconfig"]
    settings = {"kubernetes": {"api-server": "https://k8s.example:6443", "cluster-name": "c"}}
    plain = render_template(decl.name, decl.source, settings, decl.prefixes)
    edited = render_template(decl.name, decl.source + "{{ 'EDITED' }}", settings, decl.prefixes)
    assert edited == plain + "EDITED"


def _code_objects(code: CodeType) -> list[CodeType]:
    return [code, *(c for k in code.co_consts if isinstance(k, CodeType) for c in _code_objects(k))]


def test_modules_are_the_tables_runtime_entries() -> None:
    """compiled/ is what the tool writes for the table: one module per runtime entry, no more."""
    with open(TABLE, encoding="utf-8") as fh:
        wanted = build_modules(json.load(fh))
    assert len(wanted) == 1 + len(_shipped_pairs())
    on_disk = {n: Path(MODULES, n).read_text(encoding="utf-8") for n in os.listdir(MODULES) if n.endswith(".py")}
    assert on_disk == wanted


def test_runtime_code_from_the_module_is_a_fresh_compile() -> None:
    """The .pyc route gives the code a compile of the entry gives: the same lines, and the
    template's file name on every nested code object (the render deadline's tracer)."""
    for name, source in _shipped_pairs():
        entry = precompiled(name, source)
        assert entry is not None and entry.key is not None, name
        from_module = precompiled_module._module_code(entry.key, precompiled_module.module_source(name, entry.code))
        assert from_module is not None, name
        code = entry.runtime_code(name, _filename(name))
        _, newline, body = entry.code.partition("\n")
        assert code == compile(newline + body, _filename(name), "exec", dont_inherit=True)
        assert {c.co_filename for c in _code_objects(code)} == {_filename(name)}


def test_a_module_that_is_not_the_entrys_code_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited or missing module (or its stale .pyc) is never run: the entry is compiled."""
    decl = shipped_declarations()["kubeconfig"]
    entry = precompiled(decl.name, decl.source)
    assert entry is not None and entry.key is not None
    settings = {"kubernetes": {"api-server": "https://k8s.example:6443", "cluster-name": "c"}}
    monkeypatch.setattr("kindling.templates.engine._COMPILED", {})
    plain = render_template(decl.name, decl.source, settings, decl.prefixes)
    shutil.copytree(MODULES, tmp_path / "compiled")
    monkeypatch.setattr(precompiled_module, "MODULES", str(tmp_path / "compiled"))
    module = tmp_path / "compiled" / f"t_{entry.key}.py"
    expected = precompiled_module.module_source(decl.name, entry.code)
    assert precompiled_module._module_code(entry.key, expected) is not None  # the copy is used as it is
    module.write_text(expected.replace("yield 'apiVersion", "yield 'EDITED' + 'apiVersion", 1), encoding="utf-8")
    assert precompiled_module._module_code(entry.key, expected) is None
    monkeypatch.setattr("kindling.templates.engine._COMPILED", {})
    assert render_template(decl.name, decl.source, settings, decl.prefixes) == plain
    module.unlink()
    assert precompiled_module._module_code(entry.key, expected) is None
    monkeypatch.setattr("kindling.templates.engine._COMPILED", {})
    assert render_template(decl.name, decl.source, settings, decl.prefixes) == plain


def test_shipped_table_is_current() -> None:
    """shipped.json is what the tool writes now (rerun tools/precompile_templates.py)."""
    with open(declaration.SHIPPED_TABLE, encoding="utf-8") as fh:
        assert json.load(fh) == declaration.build_shipped_table()


def test_declarations_from_the_table_are_the_parsed_ones() -> None:
    parsed = {name: declaration._parse_shipped(name, text) for name, text in declaration._shipped_files()}
    assert declaration._shipped() == parsed
    assert len(parsed) >= 12


def test_an_edited_shipped_file_is_parsed_not_taken_from_the_table(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(declaration.SHIPPED_DIR, tmp_path / "shipped")
    monkeypatch.setattr(declaration, "SHIPPED_DIR", str(tmp_path / "shipped"))
    toml = tmp_path / "shipped" / "kubeconfig.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('mode = "', 'timeout = 7.0\nmode = "', 1),
                    encoding="utf-8")
    template = tmp_path / "shipped" / "kubelet-config.json.j2"
    template.write_text(template.read_text(encoding="utf-8") + "{# edited #}", encoding="utf-8")
    found = declaration._shipped()
    assert found["kubeconfig"].timeout == 7.0  # the table's entry for it is stale: parsed
    assert found["kubelet-config"].source.endswith("{# edited #}")  # the template is always read
    monkeypatch.setattr(declaration, "SHIPPED_TABLE", str(tmp_path / "missing.json"))
    assert declaration._shipped() == found
