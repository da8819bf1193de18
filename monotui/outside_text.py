"""The one sanitiser for outside text, on every output: CLI, audit, TUI, notifications.

Outside text (flag keys, annotations, label values, server error bodies, Kubernetes messages) is
data. `literal` turns any value into a string that is safe to print on a terminal and fits on one
line:

- C0 and C1 controls and DEL (ESC, CSI 0x9b, OSC, BEL, ...) are spelled out as `\\xNN`, so no
  escape sequence can clear the screen, move the cursor or reach the clipboard (OSC 52);
- format characters (bidi overrides and isolates, zero-width space/joiners, word joiner, BOM,
  soft hyphen, tag characters: Unicode category Cf), lone surrogates, U+2028/U+2029 and a few
  invisible fillers are spelled out as `\\u202e` (or `\\U000e0001`): a reader sees that something
  was there, and nothing can reorder or hide the text around it;
- a run of line breaks (LF, CR, VT, FF, NEL, LS, PS) becomes one space and a tab one space: error
  messages stay one readable line. Where a look-alike matters (a flag key: "a\\nb" must not read
  as "a b"), pass `spell_breaks=True` and they are spelled `\\n`, `\\r`, `\\t` instead;
- the result is at most `max_len` characters; a cut is marked with "…". A placeholder is never
  cut in half.

Printable ASCII passes through unchanged (so a backslash in the input is not escaped: `\\x1b` in
the output is either a spelled-out ESC or the four characters typed by someone; both are inert).

Rich `Text(...)` needs nothing more; `markup_safe` is for callers that must build Rich console
markup. `redact_url`, `redact_urls_in` and `redact` keep secrets out of what we print, and
`is_sane_header_value` guards outgoing headers. Pure standard library: widgets may import it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus

DEFAULT_MAX_LEN = 300
ELLIPSIS = "…"
REDACTED = "***"

# Categories that never reach the output raw: controls, format characters (bidi, zero-width),
# surrogates, line and paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Invisible characters outside those categories that are used to spoof names: the Hangul fillers
# (category Lo) and the combining grapheme joiner (Mn).
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f")
LINE_BREAKS = frozenset("\n\r\v\f\x85\u2028\u2029")
_SPELLED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# How far past max_len we read the input: enough to fold long runs of line breaks, never the
# whole of a 60 MB error page.
_SCAN_FACTOR = 8


def literal(text: object, *, max_len: int = DEFAULT_MAX_LEN, spell_breaks: bool = False) -> str:
    """`text` as one terminal-safe line of at most `max_len` characters (see the module doc)."""
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    value = _as_str(text)
    if value.isascii() and value.isprintable():
        return value if len(value) <= max_len else value[: max_len - 1] + ELLIPSIS
    pieces: list[str] = []
    size = 0
    in_break = False
    scan = value[: max_len * _SCAN_FACTOR + 64]
    for ch in scan:
        if ch in LINE_BREAKS and not spell_breaks:
            if in_break:
                continue
            in_break, piece = True, " "
        else:
            in_break = False
            piece = _piece(ch, spell_breaks)
        pieces.append(piece)
        size += len(piece)
        if size > max_len:
            break
    if size <= max_len and len(scan) == len(value):
        return "".join(pieces)
    # Too long: drop whole pieces until the ellipsis fits.
    while pieces and size + 1 > max_len:
        size -= len(pieces.pop())
    return "".join(pieces) + ELLIPSIS


def markup_safe(text: object, *, max_len: int = DEFAULT_MAX_LEN) -> str:
    """`literal(text)` escaped for Rich console markup: it renders as exactly that text.

    `max_len` bounds the visible text; the escapes may make the markup itself longer. Backslashes
    at the very end are doubled so a tag appended after this still works (they show doubled when
    nothing follows). Render it with emoji replacement off (`Text.from_markup(..., emoji=False)`), or a `:name:` in outside
    text becomes an emoji: Rich markup has no escape for those.
    """
    return _escape_markup(literal(text, max_len=max_len))


# A Rich markup tag: backslashes, "[", a letter, "#", "/" or "@", up to the first "]"; or else any
# other "[" that follows backslashes.
_TAG_OR_BRACKET = re.compile(r"(\\*)(\[[a-z#/@][^[]*?\])|(\\+)\[")


def _escape_markup(text: str) -> str:
    # Rich reads an odd number of backslashes before a tag as "this tag is text" and halves an even
    # number, so the backslashes already there are doubled and one is added. Outside a tag it turns
    # every backslash-bracket into a bracket, so one more backslash keeps those.
    def escape(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return match.group(1) * 2 + "\\" + match.group(2)
        return match.group(3) + "\\["

    escaped = _TAG_OR_BRACKET.sub(escape, text)
    # A tag the caller appends halves a trailing run of backslashes (and an odd run would escape
    # the tag): double it, so the caller's markup always works.
    trailing = len(escaped) - len(escaped.rstrip("\\"))
    return escaped + "\\" * trailing


def _as_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not take the caller down
        return f"<{type(value).__name__}>"


def _piece(ch: str, spell_breaks: bool) -> str:
    if ch == "\t":
        return "\\t" if spell_breaks else " "
    if ch in _SPELLED:
        return _SPELLED[ch]
    if ch in INVISIBLE or unicodedata.category(ch) in FORBIDDEN_CATEGORIES:
        return _spell(ord(ch))
    return ch


def _spell(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# --- secrets --------------------------------------------------------------------------------------

# Query (and fragment) parameters whose value is a credential; compared case-insensitively.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "credential",
        "id_token",
        "key",
        "passwd",
        "password",
        "private_token",
        "pwd",
        "refresh_token",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
_SECRET_SUFFIXES = ("_token", "-token", "_secret", "-secret", "_key", "-key", "password")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """`url` with its user:password (or token) replaced by *** and credential parameters by ***.

    Everything else stays byte for byte (no re-encoding), and it never raises, whatever the input:
    a URL without a scheme ("user:pw@host:9090") is redacted too. The result is not sanitised:
    pass it through `literal` before printing it.
    """
    head, hash_sign, fragment = url.partition("#")
    base, question, query = head.partition("?")
    base = _redact_userinfo(base)
    if question:
        query = _redact_params(query)
    if hash_sign and "=" in fragment:
        fragment = _redact_params(fragment)  # OAuth's implicit flow puts tokens here
    return base + question + query + hash_sign + fragment


def redact_urls_in(text: str) -> str:
    """Every `scheme://...` inside free text (an error message) passed through `redact_url`."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def url_credentials(url: str) -> list[str]:
    """The parts of `url` that are secrets on their own, for `redact`: its password, the values
    of its credential parameters (`?token=...`, `&sig=...`), and the long path segments that
    name nothing but a key (a Slack or Discord webhook's token). An error text that echoes just
    one of them ("invalid token abc123") must not show it."""
    head, _, fragment = url.partition("#")
    base, _, query = head.partition("?")
    found = []
    for part in (*query.split("&"), *fragment.split("&")):
        name, equals, value = part.partition("=")
        if equals and value and _is_secret_param(name):
            found += [value, unquote_plus(value)]
    authority_end = base.find("/", base.find("://") + 3 if "://" in base else 0)
    userinfo = base[: authority_end if authority_end >= 0 else len(base)].rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.rpartition(":")[2])
    path = base[authority_end:] if authority_end >= 0 else ""
    found += [seg for seg in path.split("/") if len(seg) >= _TOKEN_SEGMENT_LEN]
    return [f for f in dict.fromkeys(found) if f]


_TOKEN_SEGMENT_LEN = 16
"""A path segment this long is taken for a key (Slack's are 24 characters, Discord's 68)."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each known secret (and its URL-encoded forms) as ***."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update((secret, quote(secret, safe=""), quote_plus(secret)))
    # Longest first, so a secret that contains another is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def is_sane_header_value(value: str | bytes) -> bool:
    """False when an HTTP header value could split the request: CR, LF or NUL in it."""
    if isinstance(value, bytes):
        return not any(ch in value for ch in (b"\r", b"\n", b"\0"))
    return not any(ch in value for ch in ("\r", "\n", "\0"))


def _redact_userinfo(base: str) -> str:
    if "://" in base:
        start = base.index("://") + 3
    elif base.startswith("//"):
        start = 2
    else:
        start = 0
    end = base.find("/", start)
    end = len(base) if end < 0 else end
    authority = base[start:end]
    if "@" not in authority:
        return base
    return base[:start] + REDACTED + "@" + authority.rpartition("@")[2] + base[end:]


def _redact_params(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if equals and _is_secret_param(name) else part)
    return "&".join(parts)


def _is_secret_param(name: str) -> bool:
    plain = unquote_plus(name).strip().lower()
    return plain in SECRET_PARAMS or plain.endswith(_SECRET_SUFFIXES)
