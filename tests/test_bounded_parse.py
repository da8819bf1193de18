"""Bounded parsers: a bomb, a deep nest or a repeated key is one clean error, never a hang."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monotui.errors import SourceError
from monotui.sources.bounded_parse import DocumentError, load_json, load_yaml, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: nine times nine times ... "lol", in well under a kilobyte."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return "\n".join(lines) + "\n"


# --- JSON -----------------------------------------------------------------------------------------


def test_a_200kb_deeply_nested_json_is_a_clean_error_not_a_recursion_error() -> None:
    nested = "[" * 100_000 + "]" * 100_000
    assert len(nested) == 200_000
    with pytest.raises(DocumentError, match=r"nested deeper than 64 levels \(line 1, column 65\)"):
        load_json(nested, max_bytes=MB)
    with pytest.raises(SourceError):  # what callers catch today
        load_json('{"a":' * 50_000 + "1" + "}" * 50_000, max_bytes=MB)


def test_depth_is_counted_exactly_and_brackets_inside_strings_do_not_count() -> None:
    assert load_json("[" * 64 + "]" * 64, max_bytes=MB) is not None
    with pytest.raises(DocumentError, match="deeper than 64"):
        load_json("[" * 65 + "]" * 65, max_bytes=MB)
    text = json.dumps({"k": "[[[{{{" * 100, "q": 'a "quoted" [ \\ ] {'})
    assert load_json(text, max_bytes=MB, max_depth=1)["q"] == 'a "quoted" [ \\ ] {'


@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=1, max_value=100),
    # A bracket in a string, an escape, neither (the fast scan), a nested list (depth 2).
    st.sampled_from(['"[{"', '"a\\"b"', '"x"', '[1, "y", [2]]']),
)
def test_a_nest_is_refused_exactly_when_it_is_deeper_than_the_limit(
    depth: int, limit: int, inner: str
) -> None:
    text = '{"a":' * depth + inner + "}" * depth
    depth += inner.count("[") if inner.startswith("[") else 0
    if depth <= limit:
        assert load_json(text, max_bytes=MB, max_depth=limit) == json.loads(text)
    else:
        with pytest.raises(DocumentError, match="nested deeper"):
            load_json(text, max_bytes=MB, max_depth=limit)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_any_json_within_the_limits_reads_as_the_stdlib_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert load_json(text, max_bytes=MB) == json.loads(text)
    assert load_json(text.encode(), max_bytes=MB) == json.loads(text)


def test_a_key_twice_is_reported_or_the_last_one_kept() -> None:
    answer = '{"flags": [{"key": "a", "value": 1, "value": 2}]}'
    with pytest.raises(DocumentError, match="has the key 'value' twice in one object"):
        load_json(answer, max_bytes=MB, what="the OFREP answer")
    assert load_json(answer, max_bytes=MB, on_duplicate="last")["flags"][0]["value"] == 2


def test_a_hostile_duplicate_key_is_shown_literally() -> None:
    with pytest.raises(DocumentError) as caught:
        load_json('{"\\u001b[2J": 1, "\\u001b[2J": 2}', max_bytes=MB)
    assert "\x1b" not in str(caught.value) and "\\x1b[2J" in str(caught.value)


def test_nan_and_infinity_are_not_json_unless_allowed() -> None:
    with pytest.raises(DocumentError, match="contains NaN, which is not a JSON value"):
        load_json('{"v": NaN}', max_bytes=MB)
    assert load_json("[Infinity]", max_bytes=MB, allow_nan=True) == [float("inf")]


def test_size_encoding_and_syntax_errors_say_what_is_wrong() -> None:
    with pytest.raises(DocumentError, match="the answer is larger than 1 KB"):
        load_json(b" " * 1025, max_bytes=1024, what="the answer")
    with pytest.raises(DocumentError, match="larger than 10 bytes"):
        load_json("é" * 6, max_bytes=10)  # 6 characters, 12 bytes
    with pytest.raises(DocumentError, match=r"is not UTF-8 \(byte 1\)"):
        load_json(b'"\xff"', max_bytes=MB)
    with pytest.raises(
        DocumentError, match=r"not valid JSON: Expecting value \(line 2, column 11\)"
    ):
        load_json('{"a":\n  1, "b": }', max_bytes=MB)
    with pytest.raises(DocumentError, match="not usable JSON"):
        load_json("1" * 5000, max_bytes=MB)  # longer than Python converts to int
    assert load_json(b'\xef\xbb\xbf{"a": 1}', max_bytes=MB) == {"a": 1}  # a BOM is tolerated


# --- YAML -----------------------------------------------------------------------------------------


def test_a_billion_laughs_fails_fast_in_a_fresh_process() -> None:
    # In a subprocess with a generous timeout, so a regression fails instead of hanging the suite.
    bomb = billion_laughs()
    assert len(bomb.encode()) < 1024
    code = textwrap.dedent(
        f"""
        from monotui.sources.bounded_parse import DocumentError, load_yaml
        try:
            load_yaml({bomb!r}, max_bytes=1 << 20)
        except DocumentError as exc:
            print(exc)
        else:
            print("LOADED")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "the YAML document expands to more than 200000 nodes through its aliases (an alias bomb?)"
    )


def test_alias_count_and_node_limits_apply_separately() -> None:
    small_bomb = billion_laughs(levels=3)  # 9**4 = 6561 lols: fine for the node limit
    assert parse_yaml(small_bomb, max_bytes=MB).nodes > 6561
    with pytest.raises(DocumentError, match="uses more than 10 aliases"):
        load_yaml(small_bomb, max_bytes=MB, max_aliases=10)
    with pytest.raises(DocumentError, match="expands to more than 1000 nodes"):
        load_yaml(small_bomb, max_bytes=MB, max_nodes=1000)
    with pytest.raises(DocumentError, match="has more than 5 nodes$"):
        load_yaml("[1, 2, 3, 4, 5]", max_bytes=MB, max_nodes=5)


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(DocumentError, match=r"alias \*loop inside its own anchor"):
        load_yaml("a: &loop [1, *loop]\n", max_bytes=MB)
    with pytest.raises(DocumentError, match=r"alias \*m inside its own anchor"):
        load_yaml("m: &m\n  child: *m\n", max_bytes=MB)


@pytest.mark.parametrize(
    "deep",
    [
        "[" * 100_000 + "]" * 100_000,  # flow style
        "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",  # block style
        "- " * 5000 + "x\n",
    ],
    ids=["flow", "block", "sequence"],
)
def test_deep_yaml_is_a_clean_error(deep: str) -> None:
    # libyaml's scanner may refuse a deep flow nest itself (past 1000 levels) before we count.
    with pytest.raises(DocumentError, match="nested deeper than 64 levels|maximum nesting depth"):
        load_yaml(deep, max_bytes=MB)


def test_an_alias_counts_at_the_depth_it_expands_to() -> None:
    deep = "[" * 40 + "1" + "]" * 40
    text = f"a: &deep {deep}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[*deep]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    with pytest.raises(DocumentError, match=r"once alias \*deep is expanded"):
        load_yaml(text, max_bytes=MB)
    assert load_yaml(text, max_bytes=MB, max_depth=80)["a"] is not None


def test_the_caller_learns_whether_the_document_shares_nodes() -> None:
    plain = parse_yaml("flags:\n  a: {state: ENABLED}\n", max_bytes=MB)
    assert not plain.uses_aliases and plain.anchors == () and plain.aliases == 0
    shared = parse_yaml(
        "base: &on {state: ENABLED, defaultVariant: v1}\nflags:\n  a: *on\n  b:\n    <<: *on\n",
        max_bytes=MB,
    )
    assert shared.uses_aliases and shared.anchors == ("on",) and shared.aliases == 2
    assert shared.value["flags"]["b"] == {"state": "ENABLED", "defaultVariant": "v1"}
    anchored_only = parse_yaml("a: &x 1\n", max_bytes=MB)
    assert anchored_only.uses_aliases  # an anchor alone would be lost by re-serialising too


def test_yaml_duplicate_keys_are_reported_but_merge_overrides_are_not() -> None:
    doc = parse_yaml("a: 1\nb: 2\na: 3\n", max_bytes=MB)
    assert doc.value == {"a": 3, "b": 2} and doc.duplicate_keys == ("a",)
    with pytest.raises(DocumentError, match="has the key 'a' twice"):
        load_yaml("a: 1\na: 3\n", max_bytes=MB, on_duplicate="error")
    merged = parse_yaml("x: &x {a: 1}\ny:\n  <<: *x\n  a: 2\n", max_bytes=MB, on_duplicate="error")
    assert merged.value["y"] == {"a": 2} and merged.duplicate_keys == ()
    # 1 and "1" are different keys.
    assert parse_yaml("1: a\n'1': b\n", max_bytes=MB, on_duplicate="error").value == {
        1: "a",
        "1": "b",
    }


class Yaml12Loader(yaml.SafeLoader):
    """A caller's loader: plain on/off are strings, as in YAML 1.2 (flagd's reading)."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def test_the_callers_loader_decides_how_scalars_read() -> None:
    text = "variants: {on: true}\ndefaultVariant: on\n"
    assert load_yaml(text, max_bytes=MB)["defaultVariant"] is True  # YAML 1.1
    assert load_yaml(text, max_bytes=MB, loader=Yaml12Loader)["defaultVariant"] == "on"


def test_unsafe_tags_syntax_errors_and_size_are_clean_errors() -> None:
    with pytest.raises(DocumentError, match="not valid YAML: could not determine a constructor"):
        load_yaml("!!python/object/apply:os.system ['true']\n", max_bytes=MB)
    with pytest.raises(DocumentError) as caught:
        load_yaml("a: [1, 2\nb: \x1b[2J", max_bytes=MB)
    message = str(caught.value)
    assert message.startswith("the YAML document is not valid YAML: ")
    assert "\n" not in message and "\x1b" not in message
    with pytest.raises(DocumentError, match="larger than 2 MB"):
        load_yaml("a: " + "x" * (2 * MB), max_bytes=2 * MB)
    with pytest.raises(DocumentError, match="expected a single document"):
        load_yaml("a: 1\n---\nb: 2\n", max_bytes=MB)


def test_errors_name_the_document() -> None:
    with pytest.raises(DocumentError, match=re.escape("flags.yaml is nested deeper")):
        load_yaml("[" * 70 + "]" * 70, max_bytes=MB, what="flags.yaml")
