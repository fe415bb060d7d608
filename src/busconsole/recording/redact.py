"""Redaction of secrets before a frame touches disk.

A rule is a field-name fragment. A key matches when its name, lower-cased and with
``-``/``_`` removed, *contains* the fragment: ``token`` covers ``accessToken`` and
``refresh_token``, ``apikey`` covers ``x-api-key`` and ``API_KEY``. Substring matching
errs on the safe side (``tokenCount`` is redacted too): a lost number is cheaper
than a leaked secret. Matching values become ``"***"`` at any depth. String values
that carry ``Bearer <secret>`` are redacted wherever they appear, whatever the key.

Most frames name none of the rules, so :meth:`Redactor.redact_raw` first checks the
bytes and returns them untouched without parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

DEFAULT_RULES: tuple[str, ...] = ("password", "token", "secret", "authorization", "apiKey", "cookie")
MASK = "***"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_BEARER_BYTES = b"bearer"
_SEPARATORS = b"-_"
_LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))  # ASCII lower case, in translate


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


class Redactor:
    """Replaces the values of secret-looking fields with ``"***"``."""

    def __init__(self, fields: Iterable[str] | None = None, defaults: bool = True) -> None:
        rules = list(DEFAULT_RULES) if defaults else []
        for name in fields or ():
            if name and _norm(name) not in {_norm(r) for r in rules}:
                rules.append(name)
        self.rules: list[str] = rules
        self._needles = tuple({_norm(r) for r in rules if _norm(r)})
        self._byte_needles = tuple(n.encode() for n in self._needles) + (_BEARER_BYTES,)
        # A rule made only of separators or non-ASCII never matches the cheap byte check, so
        # such rules force the slow path instead of being silently skipped.
        self._always_parse = any(not n.isascii() for n in self._needles)
        frag = "|".join("[-_]?".join(map(re.escape, n)) for n in self._needles) or "(?!)"
        self._pairs = re.compile(rf"(?i)([\w-]*(?:{frag})[\w-]*[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,;}}]+")

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

    def redact_obj(self, obj: Any) -> Any:
        """``obj`` with secrets masked; the same object when nothing changed (never mutated)."""
        if isinstance(obj, dict):
            out: dict[str, Any] | None = None
            for key, value in obj.items():
                new = MASK if self._needles and self.matches_key(str(key)) else self.redact_obj(value)
                if new is not value:
                    if out is None:
                        out = dict(obj)
                    out[key] = new
            return obj if out is None else out
        if isinstance(obj, list):
            items = [self.redact_obj(v) for v in obj]
            return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
        if isinstance(obj, str) and self._needles:
            return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", obj)
        return obj

    def redact_text(self, text: str) -> str:
        """Best effort for a frame that is not JSON: ``key=value`` / ``key: value`` and Bearer."""
        if not self._needles:
            return text
        text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
        return self._pairs.sub(lambda m: f"{m.group(1)}{MASK}", text)

    def redact_raw(self, raw: bytes) -> bytes:
        """The frame's bytes with secrets masked; ``raw`` itself when there is nothing to do."""
        if not self.might_contain(raw):
            return raw
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            text = raw.decode("utf-8", "surrogateescape")
            new = self.redact_text(text)
            return raw if new == text else new.encode("utf-8", "surrogateescape")
        red = self.redact_obj(obj)
        return raw if red is obj else orjson.dumps(red)

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
