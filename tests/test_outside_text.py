"""The one sanitiser: whatever outside text holds, what we print is one inert line."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from monotui.outside_text import (
    DEFAULT_MAX_LEN,
    ELLIPSIS,
    FORBIDDEN_CATEGORIES,
    INVISIBLE,
    is_sane_header_value,
    literal,
    markup_safe,
    redact,
    redact_url,
    redact_urls_in,
)

# Every code point, surrogates and unassigned ones included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
# Strings rich in what attackers use: escapes, C1, bidi, zero-width, separators, markup.
NASTY = st.sampled_from(
    list("\x1b\x9b\x9d\x07\x7f\x00\r\n\t\v\f\x85[]\\/@#=:")
    + ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200d"]
    + ["\u2060", "\ufeff", "\u2028", "\u2029", "\u3164", "\U000e0041", "\ud800"]
)
HOSTILE_TEXT = st.text(st.one_of(ANY_CHAR, NASTY), max_size=600)
PRINTABLE_ASCII = st.text(st.sampled_from(string.printable[:-5]), max_size=400)  # no \t\n\r\v\f


def _inert(out: str) -> None:
    for ch in out:
        assert unicodedata.category(ch) not in FORBIDDEN_CATEGORIES, repr(ch)
        assert ch not in INVISIBLE, repr(ch)


@given(HOSTILE_TEXT, st.integers(min_value=1, max_value=400), st.booleans())
def test_no_control_bidi_or_separator_survives_and_the_length_is_bounded(
    text: str, max_len: int, spell: bool
) -> None:
    out = literal(text, max_len=max_len, spell_breaks=spell)
    _inert(out)
    assert len(out) <= max_len
    assert out.splitlines() in ([out], [])  # one line, whatever came in


@given(PRINTABLE_ASCII)
def test_printable_ascii_passes_through_unchanged(text: str) -> None:
    assert literal(text, max_len=400) == text
    assert literal(text, max_len=400, spell_breaks=True) == text


@given(PRINTABLE_ASCII, st.integers(min_value=1, max_value=50))
def test_a_long_text_is_cut_with_an_ellipsis(text: str, max_len: int) -> None:
    out = literal(text, max_len=max_len)
    if len(text) <= max_len:
        assert out == text
    else:
        assert len(out) == max_len and out.endswith(ELLIPSIS) and text.startswith(out[:-1])


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen
        ("\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07", "\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07"),
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;http://evil\\x1b\\link"),
        ("\x9b31m red", "\\x9b31m red"),  # C1 CSI
        ("admin\u202egnp.exe", "admin\\u202egnp.exe"),  # bidi override
        ("new\u200dcheckout", "new\\u200dcheckout"),  # zero-width joiner
        ("\ufeffkey", "\\ufeffkey"),
        ("a\u2028b\x85c", "a b c"),
        ("line one\r\n\r\nline two\tend", "line one line two end"),
        ("del\x7f", "del\\x7f"),
    ],
)
def test_hostile_strings_are_spelled_out_visibly(hostile: str, shown: str) -> None:
    out = literal(hostile)
    assert out.startswith(shown) if hostile.startswith("\x1b]8") else out == shown


def test_spelled_breaks_keep_a_key_from_looking_like_another() -> None:
    assert literal("new\ncheckout\t", spell_breaks=True) == "new\\ncheckout\\t"
    assert literal("new\ncheckout") == "new checkout"


def test_a_placeholder_is_never_cut_in_half() -> None:
    assert literal("abc\u202e" * 10, max_len=8) == "abc" + ELLIPSIS
    assert literal("abc\u202e" * 10, max_len=10) == "abc\\u202e" + ELLIPSIS


def test_huge_input_costs_only_what_is_shown() -> None:
    out = literal("\n" * 5_000_000 + "x")
    assert out == " " + ELLIPSIS  # the rest was never scanned
    assert len(literal("é" * 10_000_000)) == DEFAULT_MAX_LEN


def test_bytes_and_objects_become_text() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert literal(b"caf\xc3\xa9 \xff\x1b") == "café \ufffd\\x1b"
    assert literal(Hostile()) == "<Hostile>"
    assert literal(42) == "42"
    with pytest.raises(ValueError):
        literal("x", max_len=0)


MARKUPISH = st.lists(
    st.sampled_from(list("[]\\/@#=:ab b") + ["[bold]", "[/]", "\\[", "\x1b", "[link=x]"])
).map("".join)


@given(MARKUPISH)
def test_markup_safe_renders_as_exactly_the_literal_text(text: str) -> None:
    safe = markup_safe(text)
    if not literal(text).endswith("\\"):
        assert Text.from_markup(safe, emoji=False).plain == literal(text)
    # A tag the caller appends after it still works: a trailing backslash cannot escape it.
    styled = Text.from_markup(f"[bold]{safe}[/bold]!", emoji=False)
    assert styled.plain == literal(text) + "!"
    assert any(span.style == "bold" for span in styled.spans) or literal(text) == ""


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:hunter2@prom:9090/api", "http://***@prom:9090/api"),
        ("https://tok3n@prom.example/", "https://***@prom.example/"),
        ("http://u:p@ss@host/x", "http://***@host/x"),  # an unencoded @ in the password
        ("user:hunter2@prom:9090", "***@prom:9090"),  # no scheme: still redacted
        ("//u:p@host/", "//***@host/"),
        (
            "https://h/q?query=up&access_token=abc&API_KEY=def&x-amz-signature=s",
            "https://h/q?query=up&access_token=***&API_KEY=***&x-amz-signature=***",
        ),
        (
            "https://h/q?my_token=a&sort=name&client_secret=b",
            "https://h/q?my_token=***&sort=name&client_secret=***",
        ),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        ("http://prom:9090/api/v1/query?query=up", "http://prom:9090/api/v1/query?query=up"),
        ("http://[::1", "http://[::1"),  # not a valid URL: returned, never raises
        ("", ""),
    ],
)
def test_redact_url_hides_credentials_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@given(
    st.text(st.sampled_from(string.ascii_letters + string.digits + ":;!$%&'()*+,=-_.~"), min_size=1)
)
def test_any_password_in_a_url_is_hidden(password: str) -> None:
    assert redact_url(f"https://alice:{password}@prom.example:9090/api") == (
        "https://***@prom.example:9090/api"
    )


def test_urls_inside_prose_are_redacted() -> None:
    text = "cannot reach http://a:s3cret@prom:9090/x (refused); also https://h/?token=t1 failed"
    assert redact_urls_in(text) == (
        "cannot reach http://***@prom:9090/x (refused); also https://h/?token=*** failed"
    )


@given(
    st.text(st.characters(codec="utf-8", exclude_characters="*"), min_size=1),
    st.text(max_size=50),
    st.text(max_size=50),
)
def test_a_known_secret_never_survives_redact(secret: str, before: str, after: str) -> None:
    out = redact(f"{before}{secret}{after} Bearer {secret}", [secret, ""])
    assert secret not in out


def test_redact_covers_url_encoded_forms_and_overlapping_secrets() -> None:
    out = redact(
        "url http://u:p%40ss%2Fw@h/ and p@ss/w and tokenABC", ["p@ss/w", "token", "tokenABC"]
    )
    assert out == "url http://u:***@h/ and *** and ***"


@pytest.mark.parametrize(
    ("value", "sane"),
    [
        ("Bearer abc", True),
        ("abc\r\nX-Injected: 1", False),
        ("abc\n", False),
        ("a\0b", False),
        (b"ok", True),
        (b"a\rb", False),
    ],
)
def test_header_values_that_could_split_a_request_are_refused(
    value: str | bytes, sane: bool
) -> None:
    assert is_sane_header_value(value) is sane
