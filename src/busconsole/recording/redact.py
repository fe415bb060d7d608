"""Redaction of secrets before a frame touches disk, a terminal or a log file.

A rule is a field-name fragment. A key matches when its name, lower-cased and with
``-``/``_`` removed, *contains* the fragment: ``token`` covers ``accessToken`` and
``refresh_token``, ``apikey`` covers ``x-api-key`` and ``API_KEY``, ``pwd`` covers
``userPwd``. Substring matching errs on the safe side (``tokenCount`` is redacted too):
a lost number is cheaper than a leaked secret. Matching values become ``"***"`` at any
depth.

String values are looked into as well, whatever their key: ``Bearer <secret>`` (any
length), ``Basic <base64 of user:password>``, ``Cookie: …`` / ``Authorization: …``
header lines, ``key=value`` / ``key: value`` pairs whose key matches a rule (console
messages, query strings ``?token=…``), the password of a ``scheme://user:pw@host`` URL,
and JSON held inside a string (parsed and redacted like a frame). Keys spelled with
JSON ``\\u`` escapes (``"pass\\u0077ord"``) are matched once decoded.

Most frames name none of the rules, so :meth:`Redactor.redact_raw` first checks the
bytes and returns them untouched without parsing. The check looks for every rule, for
``bearer``, and for anything that could hide a name from it (a ``\\u`` escape, the
Kelvin sign that lower-cases to ``k``); any of these means "look closer". Not looked
for by the check, so masked only in frames it lets through: a bare ``Basic <base64>``
and a URL's ``user:password@`` with no rule name anywhere in the frame (``Authorization:
Basic`` is found by its header name).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

if TYPE_CHECKING:
    from busconsole.frames import CapturedFrame

DEFAULT_RULES: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "authorization",
    "apiKey",
    "cookie",
    "jwt",
    "credential",
    "private_key",
)
MASK = "***"
_DEEP = 100  # levels walked recursively; deeper parts are judged whole
_SCHEMES = r"bearer|basic|digest|negotiate|token"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_BASIC = re.compile(r"(?i)\b(basic)\s+([A-Za-z0-9+/]{2,}={0,2})(?![A-Za-z0-9+/=])")
# A header line (or a key) naming a cookie or credentials: everything after it on the line is
# secret (a cookie's later pairs too); the auth scheme stays visible.
_HEADER = re.compile(
    r"(?i)((?<![\w-])[\w-]*?(?:cookie|authori[sz]ation)[\w-]*+\\*[\"']?\s*[:=]\s*\\*[\"']?)"
    rf"((?:{_SCHEMES})\s+)?[^\r\n\"'\\]+"
)
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://[^\s/?#@:\"']*+:)[^\s/?#@\"']++@")
_ASCII_ESCAPE = re.compile(r"(?i)\\+u00([2-7][0-9a-f])")  # \\u0077 inside a JSON string too
_PARSE_HINTS = ("bearer", "basic")
_BYTE_HINTS = (b"bearer", b"\\u", "\u212a".encode())  # \u212a: KELVIN SIGN, lower() -> "k"
_SEPARATORS = b"-_"
_LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))  # ASCII lower case, in translate


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _minimal(needles: Iterable[str]) -> tuple[str, ...]:
    """The needles without those containing another: ``accesstoken`` is found by ``token``."""
    unique = sorted(set(needles), key=len)
    kept: list[str] = []
    for n in unique:
        if not any(k in n for k in kept):
            kept.append(n)
    return tuple(kept)


def _unescape_ascii(m: re.Match[str]) -> str:
    ch = chr(int(m.group(1), 16))
    return ch if ch.isalnum() or ch in "-_" else m.group(0)


def _basic(m: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4), validate=True)
    except (binascii.Error, ValueError):
        return m.group(0)
    return f"{m.group(1)} {MASK}" if b":" in decoded else m.group(0)


def _pair(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2) or ''}{MASK}"


class Redactor:
    """Replaces the values of secret-looking fields, and secrets inside strings, with ``"***"``."""

    def __init__(self, fields: Iterable[str] | None = None, defaults: bool = True) -> None:
        rules = list(DEFAULT_RULES) if defaults else []
        for name in fields or ():
            if name and _norm(name) not in {_norm(r) for r in rules}:
                rules.append(name)
        self.rules: list[str] = rules
        self._needles = tuple({_norm(r) for r in rules if _norm(r)})
        checked = _minimal(self._needles)
        self._byte_needles = tuple(n.encode() for n in checked if n.isascii()) + _BYTE_HINTS
        self._str_needles = checked + _PARSE_HINTS
        # A rule made only of separators or non-ASCII never matches the cheap byte check, so
        # such rules force the slow path instead of being silently skipped.
        self._always_parse = any(not n.isascii() for n in self._needles)
        frag = "|".join("[-_]?".join(map(re.escape, n)) for n in self._needles) or "(?!)"
        # key, then a quoted value (to its closing quote) or a bare one (to a separator)
        self._pairs = re.compile(
            rf"(?i)((?<![\w-])[\w-]*?(?:{frag})[\w-]*+\\*[\"']?\s*[:=]\s*)"
            rf"(?:(\\*[\"'])[^\r\n]*?(?=\2|[\r\n]|$)|(?!(?:{_SCHEMES})\s+\*\*\*)[^\"'\\&\s,;}}\]]+)"
        )

    def __repr__(self) -> str:
        return f"Redactor({self.rules!r})"

    def matches_key(self, key: str) -> bool:
        k = _norm(key)
        return any(n in k for n in self._needles)

    def might_contain(self, raw: bytes) -> bool:
        """False only when no rule can match anywhere in ``raw`` (checked without parsing)."""
        if self._always_parse:
            return True
        low = raw.translate(_LOWER, _SEPARATORS)  # lower-cased and separators dropped in one pass
        return any(n in low for n in self._byte_needles)

    def _might_contain_str(self, text: str) -> bool:
        if self._always_parse:
            return True
        low = _norm(text)
        return any(n in low for n in self._str_needles) or "\\u" in text or ("@" in text and "://" in text)

    def redact_obj(self, obj: Any, _depth: int = 0) -> Any:
        """``obj`` with secrets masked; the same object when nothing changed (never mutated).
        Past :data:`_DEEP` levels (a hostile frame nests up to 1024) a part that holds anything
        secret-looking is masked whole, found without recursion."""
        if _depth > _DEEP and isinstance(obj, dict | list):
            return obj if self._clean_deep(obj) else MASK
        if isinstance(obj, dict):
            out: dict[str, Any] | None = None
            for key, value in obj.items():
                new = MASK if self._needles and self.matches_key(str(key)) else self.redact_obj(value, _depth + 1)
                if new is not value:
                    if out is None:
                        out = dict(obj)
                    out[key] = new
            return obj if out is None else out
        if isinstance(obj, list):
            items = [self.redact_obj(v, _depth + 1) for v in obj]
            return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
        if isinstance(obj, str) and self._needles:
            return self.redact_string(obj)
        return obj

    def _clean_deep(self, obj: Any) -> bool:
        """True when no key or string anywhere in ``obj`` looks secret (an explicit stack, no
        recursion, whatever the depth)."""
        stack = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if self._needles and self.matches_key(str(key)):
                        return False
                    stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and self._needles and self._might_contain_str(item):
                return False
        return True

    def redact_string(self, text: str) -> str:
        """A string value with the secrets inside it masked; ``text`` itself when there are none.

        A string holding JSON is parsed and redacted as a frame would be (and written back
        compactly); any other string goes through :meth:`redact_text`.
        """
        if not self._might_contain_str(text):
            return text
        if text.lstrip()[:1] in ("{", "["):
            try:
                inner = orjson.loads(text)
            except orjson.JSONDecodeError:
                pass
            else:
                red = self.redact_obj(inner)
                return text if red is inner else orjson.dumps(red).decode()
        return self.redact_text(text)

    def redact_text(self, text: str) -> str:
        """Best effort for text that is not JSON (a string value, a malformed frame).

        Masks header lines (``Cookie:``, ``Authorization:``), Bearer and Basic credentials,
        ``key=value`` / ``key: value`` / ``"key": "value"`` pairs whose key matches a rule,
        and a URL's password. ``\\u00XX`` escapes of letters are decoded first so an escaped
        key is seen. Returns ``text`` itself when nothing changed.
        """
        if not self._needles:
            return text
        new = text
        if "\\u" in new or "\\U" in new:
            new = _ASCII_ESCAPE.sub(_unescape_ascii, new)
        new = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", new)
        new = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", new)
        new = _BASIC.sub(_basic, new)
        new = self._pairs.sub(_pair, new)
        if "@" in new:
            new = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", new)
        return text if new == text else new

    def redact_raw(self, raw: bytes) -> bytes:
        """The frame's bytes with secrets masked; ``raw`` itself when there is nothing to do."""
        if not self.might_contain(raw):
            return raw
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            text = raw.decode("utf-8", "surrogateescape")
            new = self.redact_text(text)
            return raw if new is text else new.encode("utf-8", "surrogateescape")
        red = self.redact_obj(obj)
        return raw if red is obj else orjson.dumps(red)

    def redact_frame(self, frame: CapturedFrame) -> CapturedFrame:
        """``frame`` with its bytes redacted (binary frames too); ``frame`` itself when clean."""
        raw = self.redact_raw(frame.raw)
        if raw is frame.raw:
            return frame
        from busconsole.frames import CapturedFrame

        return CapturedFrame(frame.seq, frame.t, frame.dir, frame.conn, raw, frame.binary)

    def redact_frames(self, frames: Sequence[CapturedFrame]) -> Sequence[CapturedFrame]:
        """The frames redacted; one byte check over the whole batch in the common, clean case."""
        if not frames or not self.might_contain(b"\n".join(f.raw for f in frames)):
            return frames
        return [self.redact_frame(f) for f in frames]

    def redact_url(self, url: str) -> str:
        """A URL fit for a header or a log: no password, secret-looking query values masked."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.redact_text(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, MASK if self.matches_key(k) else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@cache
def _display() -> Redactor:
    """The recording's default rules decide what a person may see, too."""
    return Redactor()


def redacted_url(url: str) -> str:
    """The URL with a password in it and secret-looking query values replaced by ``***``."""
    return _display().redact_url(url)


def redacted_text(text: str) -> str:
    """Text for a terminal or a log (a malformed frame, a close reason), secrets masked."""
    return _display().redact_text(text)


def redacted_bytes(raw: bytes) -> bytes:
    """A frame's bytes (text or binary, JSON or not) with the default rules applied."""
    return _display().redact_raw(raw)


def redacted_frame(frame: CapturedFrame, redactor: Redactor | None = None) -> CapturedFrame:
    """``frame`` fit for stderr or a screen: redacted by ``redactor`` (default rules if None)."""
    return (redactor or _display()).redact_frame(frame)


def redacted_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers for display: the auth scheme stays visible (``Bearer ***``), the secret does not."""
    shown: dict[str, str] = {}
    display = _display()
    for name, value in headers.items():
        if not display.matches_key(name):
            shown[name] = display.redact_obj(value)
            continue
        scheme, _, rest = value.partition(" ")
        shown[name] = f"{scheme} ***" if rest else "***"
    return shown
