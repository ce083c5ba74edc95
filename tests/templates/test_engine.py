"""The template engine on settings dicts: prefixes, sandbox, deadline, helpers, errors."""

from __future__ import annotations

import base64
import json
import tomllib
from typing import Any

import pytest
import yaml

from kindling.templates.engine import render_template
from kindling.templates.errors import SkipFile, TemplateError
from kindling.templates.quoting import env_literal, env_value, systemd_arg, toml_value, yaml_value

S: dict[str, Any] = {
    "kubernetes": {"cluster-name": "c1", "node-labels": {"a": "b"}, "cluster-certificate": "!!!"},
    "aws": {"region": "us-east-1", "credentials": "c2VjcmV0"},
}


def render(src: str, prefixes: tuple[str, ...] = ("kubernetes",), **kw: Any) -> str:
    return render_template("t", src, S, prefixes, **kw)


def test_reads_within_prefixes() -> None:
    out = render("{{ settings.kubernetes['cluster-name'] }} {{ setting('kubernetes.node-labels') | json }}")
    assert out == 'c1 {"a": "b"}'
    assert render("{{ setting('kubernetes.max-pods', 110) }}") == "110"
    assert render("{% for k, v in settings.kubernetes['node-labels'].items() %}{{ k }}={{ v }}{% endfor %}") == "a=b"


@pytest.mark.parametrize("src", [
    "{{ settings.aws.region }}",
    "{{ setting('aws.region') }}",
    "{{ setting('aws.region', 'x') }}",
    "{{ settings['aws'] }}",
    "{% if 'aws' in settings %}x{% endif %}",
    "{{ settings.get('aws') }}",
])
def test_a_read_outside_the_prefixes_is_an_error_naming_the_key(src: str) -> None:
    with pytest.raises(TemplateError) as err:
        render(src)
    assert err.value.setting == "settings.aws"
    assert "outside the prefixes" in str(err.value)
    assert err.value.line == 1


def test_iterating_the_root_shows_only_declared_prefixes() -> None:
    assert render("{{ settings | list }}") == "['kubernetes']"
    assert render("{{ settings.aws.region }}", ("aws.region",)) == "us-east-1"
    with pytest.raises(TemplateError, match=r"settings\.aws\.credentials"):
        render("{{ settings.aws.credentials }}", ("aws.region",))


def test_unset_setting_names_key_and_line() -> None:
    with pytest.raises(TemplateError) as err:
        render("a\nb\n{{ settings.kubernetes['api-server'] }}\n")
    assert (err.value.line, err.value.setting) == (3, "settings.kubernetes.api-server")
    assert str(err.value).startswith("template t, line 3, setting settings.kubernetes.api-server:")


def test_helper_errors_name_the_setting_never_the_value() -> None:
    with pytest.raises(TemplateError) as err:
        render("\n{{ settings.kubernetes['cluster-certificate'] | base64_decode }}")
    assert err.value.setting == "settings.kubernetes.cluster-certificate" and err.value.line == 2
    assert "!!!" not in str(err.value)
    with pytest.raises(TemplateError) as err:
        render("{{ settings.aws.credentials | int(x=1) }}", ("aws",))
    assert "c2VjcmV0" not in str(err.value) and "secret" not in str(err.value)


@pytest.mark.parametrize("src", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ setting.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ settings.__class__ }}",
    "{{ range.__closure__ }}",
])
def test_sandbox_escapes_are_refused(src: str) -> None:
    with pytest.raises(TemplateError, match=r"sandbox|not set|undefined|has no attribute"):
        render(src)


@pytest.mark.parametrize("src", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% set s = 'abcdefghij' * 1000 %}{% for a in s %}{% for b in s %}{% for c in s %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% for i in range(1000) %}{{ f(n) if n > 0 else '' }}{% endfor %}{% endmacro %}{{ f(5) }}",
])
def test_runaway_loops_hit_the_time_limit(src: str) -> None:
    with pytest.raises(TemplateError, match=r"longer than 0.3 s|repetition|output larger|recursion"):
        render(src, timeout=0.3)


def test_huge_repetition_and_ranges_are_refused() -> None:
    with pytest.raises(TemplateError, match="repetition too large"):
        render("{{ 'x' * 10**9 }}")
    with pytest.raises(TemplateError, match="range longer"):
        render("{% for i in range(10**7) %}{% endfor %}")


def test_syntax_errors_have_a_line() -> None:
    with pytest.raises(TemplateError) as err:
        render("ok\n{% if %}\n")
    assert err.value.line == 2 and "syntax error" in str(err.value)


def test_skip_and_fail() -> None:
    with pytest.raises(SkipFile):
        render("{{ skip() }}")
    with pytest.raises(TemplateError, match="custom refusal"):
        render("{{ fail('custom refusal') }}")


NASTY = ['plain', 'quote " and \\ backslash', "tab\tnewline\nend", "ünïcode ✓", "#hash $var %spec", "", "1e3", "yes"]


@pytest.mark.parametrize("text", NASTY)
def test_toml_json_yaml_quoting_round_trips(text: str) -> None:
    assert tomllib.loads(f"k = {toml_value(text)}")["k"] == text
    assert tomllib.loads(f"k = {toml_value([text, 1, True, {'x y': text}])}")["k"] == [text, 1, True, {"x y": text}]
    assert yaml.safe_load(f"k: {yaml_value(text)}")["k"] == text
    assert json.loads(render("{{ v | json }}", extra={"v": {"k": text}})) == {"k": text}


def test_env_and_systemd_quoting() -> None:
    assert env_value("plain-value_1.2") == "plain-value_1.2"
    assert env_value('{"a":"b c"}') == '"{\\"a\\":\\"b c\\"}"'
    assert env_literal({"a": "b"}) == '{"a":"b"}'
    assert systemd_arg("--node-labels=a=b") == "--node-labels=a=b"
    assert systemd_arg("50% $HOME") == '"50%% $$HOME"'
    for bad in ("two\nlines",):
        with pytest.raises(Exception, match="single line"):
            env_literal(bad)
        with pytest.raises(Exception, match="single line"):
            systemd_arg(bad)


def test_base64_helpers() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
    encoded = base64.b64encode(pem.encode()).decode()
    assert render_template("t", "{{ v | base64_decode }}", {}, ("motd",), extra={"v": encoded}) == pem
    assert render_template("t", "{{ v | base64_encode }}", {}, ("motd",), extra={"v": "hi"}) == "aGk="


def test_http_url_helper() -> None:
    ok = render_template("t", "{{ v | http_url }}", {}, ("motd",), extra={"v": "https://m.example:5000/p"})
    assert ok == "https://m.example:5000/p"
    for bad in ("m.example", "ftp://m.example", "https://", "https://a b"):
        with pytest.raises(TemplateError, match="not an http"):
            render_template("t", "{{ v | http_url }}", {}, ("motd",), extra={"v": bad})
