"""Text to filter tree: a scanner that builds terms as it reads, then a small precedence parser.

Grammar (``or`` binds looser than juxtaposition/``and``)::

    expr  := all ('or' all)*
    all   := unary (['and'] unary)*
    unary := '-' unary | 'not' unary | '(' expr ')' | term
    term  := key op values | path op values | word | "phrase" | /regex/flags

Every failure raises :class:`FilterError` with the 1-based column of the culprit.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from busconsole.filtering.errors import FilterError
from busconsole.filtering.keys import (
    DIR_ALIASES,
    IS_TYPES,
    KEY_TERM,
    KEYS,
    LEVEL_ALIASES,
    TYPE_ALIASES,
    KeyDef,
)
from busconsole.filtering.nodes import (
    CompareTerm,
    FieldTerm,
    IsTerm,
    LevelTerm,
    Node,
    Not,
    TimeTerm,
    all_of,
    any_of,
)
from busconsole.filtering.paths import PathTerm
from busconsole.filtering.patterns import REGEX_FLAGS, Pattern
from busconsole.filtering.text import RegexTerm, TextTerm
from busconsole.filtering.values import (
    LATENCY_UNITS,
    SIZE_UNITS,
    parse_number,
    parse_quantity,
    parse_time,
)

_KEYWORDS = ("or", "and", "not")
_ENDS_VALUE = " \t\r\n\f\v(),"


@dataclass
class Token:
    kind: str  # "(", ")", "not", "or", "and", "term"
    col: int  # 1-based
    text: str
    node: Node | None = None


@dataclass
class Value:
    kind: str  # "literal" (quoted), "bare", "regex"
    text: str
    col: int
    flags: str = ""


class Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, message: str, index: int) -> FilterError:
        return FilterError(message, index + 1)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        s = self.s
        while self.i < len(s):
            c, start = s[self.i], self.i
            if c.isspace():
                self.i += 1
            elif c in "()":
                out.append(Token(c, start + 1, c))
                self.i += 1
            elif c == "-":
                if start + 1 >= len(s) or s[start + 1].isspace() or s[start + 1] == ")":
                    raise self.fail("expected a term after '-'", start + 1)
                out.append(Token("not", start + 1, "-"))
                self.i += 1
            elif c == '"':
                phrase = self.quoted()
                if not phrase:
                    raise self.fail("empty phrase", start)
                out.append(Token("term", start + 1, s[start:self.i], TextTerm(phrase)))
            elif c == "/":
                pattern, flags = self.regex()
                out.append(Token("term", start + 1, s[start:self.i], self.text_regex(pattern, flags, start)))
            else:
                out.append(self.word())
        return out

    def word(self) -> Token:
        s, start = self.s, self.i
        m = KEY_TERM.match(s, start)
        if m is not None:
            self.i = m.end()
            node = self.key_term(m.group(1), m.group(2), start)
            return Token("term", start + 1, s[start:self.i], node)
        while self.i < len(s) and not s[self.i].isspace() and s[self.i] not in "()":
            self.i += 1
        word = s[start:self.i]
        if word.lower() in _KEYWORDS:
            return Token(word.lower(), start + 1, word)
        return Token("term", start + 1, word, TextTerm(word))

    # ------------------------------------------------------------------ pieces

    def quoted(self) -> str:
        """A double-quoted string at ``self.i``; ``\\"`` and ``\\\\`` are the only escapes."""
        s, start = self.s, self.i
        out: list[str] = []
        i = start + 1
        while i < len(s):
            c = s[i]
            if c == "\\" and i + 1 < len(s) and s[i + 1] in '"\\':
                out.append(s[i + 1])
                i += 2
            elif c == '"':
                self.i = i + 1
                return "".join(out)
            else:
                out.append(c)
                i += 1
        raise self.fail("unclosed quote", start)

    def regex(self) -> tuple[str, str]:
        s, start = self.s, self.i
        i = start + 1
        while i < len(s) and s[i] != "/":
            i += 2 if s[i] == "\\" else 1
        if i >= len(s):
            raise self.fail("unclosed regex (add the closing /)", start)
        pattern = s[start + 1:i]
        j = i + 1
        while j < len(s) and s[j].isalpha():
            if s[j] not in REGEX_FLAGS:
                raise self.fail(f"unknown regex flag {s[j]!r} (flags: i m s x)", j)
            j += 1
        self.i = j
        return pattern, "".join(sorted(set(s[i + 1:j])))

    def compile_pattern(self, kind: str, text: str, flags: str, fold: bool, col: int) -> Pattern:
        try:
            return Pattern(kind, text, flags, fold)  # type: ignore[arg-type]
        except re.error as exc:
            raise self.fail(f"bad regex: {exc.msg}", col + 1 + (exc.pos or 0)) from None

    def text_regex(self, pattern: str, flags: str, start: int) -> RegexTerm:
        if not pattern:
            raise self.fail("empty regex", start)
        try:
            return RegexTerm(pattern, flags)
        except re.error as exc:
            raise self.fail(f"bad regex: {exc.msg}", start + 1 + (exc.pos or 0)) from None

    def values(self, what: str, single: bool) -> list[Value]:
        """The value list after ``key:``; ``single`` for comparisons, which take one value."""
        s = self.s
        out: list[Value] = []
        while True:
            start = self.i
            if start >= len(s) or s[start] in _ENDS_VALUE:
                raise self.fail(f"expected a value after {what!r}", start)
            if s[start] == '"':
                out.append(Value("literal", self.quoted(), start))
            elif s[start] == "/":
                pattern, flags = self.regex()
                out.append(Value("regex", pattern, start, flags))
            else:
                while self.i < len(s) and s[self.i] not in _ENDS_VALUE:
                    self.i += 1
                out.append(Value("bare", s[start:self.i], start))
            if self.i < len(s) and s[self.i] not in _ENDS_VALUE:
                raise self.fail(f"unexpected {s[self.i]!r} after the value", self.i)
            if self.i < len(s) and s[self.i] == ",":
                if single:
                    raise self.fail("a comparison takes one value, not a list", self.i)
                self.i += 1
                what = ","
                continue
            return out

    # ------------------------------------------------------------------ key terms

    def key_term(self, name: str, op: str, start: int) -> Node:
        op = "=" if op == ":" else op
        what = self.s[start:self.i]
        if "." in name:
            return self.path_term(name, op, what)
        key = KEYS.get(name.lower())
        if key is None:
            raise self.fail(_unknown_key(name), start)
        if op != "=" and key.kind not in ("quantity", "time"):
            raise self.fail(f"{key.name!r} takes ':' not {op!r}", self.i - len(op))
        values = self.values(what, single=key.kind in ("quantity", "time"))
        return self.build(key, op, values)

    def build(self, key: KeyDef, op: str, values: list[Value]) -> Node:
        if key.kind == "quantity":
            units = SIZE_UNITS if key.name == "size" else LATENCY_UNITS
            v = self.plain(values[0], key.name)
            try:
                return CompareTerm(key.name, op, parse_quantity(v.text, units), v.text)
            except ValueError as exc:
                raise self.fail(str(exc), v.col) from None
        if key.kind == "time":
            v = self.plain(values[0], key.name)
            try:
                tv = parse_time(v.text)
            except ValueError as exc:
                raise self.fail(str(exc), v.col) from None
            if tv.kind == "age" and op == "=":
                raise self.fail("a relative time needs > or < (t>-5m: the last 5 minutes)", v.col)
            return TimeTerm(op, tv)
        if key.kind == "is":
            flags = [self.flag(self.plain(v, "is")) for v in values]
            return IsTerm(flags)
        patterns = [self.pattern(key.name, v) for v in values]
        return LevelTerm(patterns) if key.kind == "level" else FieldTerm(key.name, patterns)

    def plain(self, v: Value, key: str) -> Value:
        if v.kind == "regex":
            raise self.fail(f"{key!r} does not take a regex", v.col)
        return v

    def flag(self, v: Value) -> str:
        name = v.text.lower()
        if name not in IS_TYPES:
            raise self.fail(_unknown("is: value", v.text, IS_TYPES), v.col)
        return name

    def pattern(self, key: str, v: Value) -> Pattern:
        """A value of a field key, normalised the way FrameFacts stores that field."""
        fold = key in ("type", "op", "dir", "level")
        if v.kind == "regex":
            return self.compile_pattern("regex", v.text, v.flags, fold, v.col)
        text = v.text
        if key == "dir":
            if text.lower() not in DIR_ALIASES:
                raise self.fail(f"dir is in or out, not {text!r}", v.col)
            return Pattern("literal", DIR_ALIASES[text.lower()])
        if key in ("type", "op"):
            text = text.upper()
            text = TYPE_ALIASES.get(text, text) if key == "type" else text
        elif key == "level":
            text = LEVEL_ALIASES.get(text.lower(), text.lower())
        if v.kind == "bare" and "*" in text:
            return self.compile_pattern("wildcard", text, "", fold, v.col)
        return Pattern("literal", text)  # already in the case FrameFacts stores

    def path_term(self, name: str, op: str, what: str) -> PathTerm:
        path = name.lstrip(".").split(".")
        values = self.values(what, single=op != "=")
        if op != "=":
            v = self.plain(values[0], name)
            try:
                return PathTerm(path, op, number=parse_number(v.text))
            except ValueError as exc:
                raise self.fail(str(exc), v.col) from None
        patterns = [
            self.compile_pattern(
                "regex" if v.kind == "regex" else ("wildcard" if v.kind == "bare" and "*" in v.text
                                                   else "literal"),
                v.text, v.flags, True, v.col)
            for v in values
        ]
        return PathTerm(path, op, patterns)


def _unknown(what: str, name: str, known: object) -> str:
    close = difflib.get_close_matches(name.lower(), list(known), n=1)  # type: ignore[call-overload]
    return f"unknown {what} {name!r}" + (f" (did you mean {close[0]}?)" if close else "")


def _unknown_key(name: str) -> str:
    message = _unknown("key", name, KEYS)
    if "did you mean" in message:
        return message
    return message + f" (keys: {', '.join(KEYS)}; .{name}:… for a frame field; quote text)"


class Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_col = length + 1

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self.expr()
        tok = self.peek()
        if tok is not None:  # only a ')' can stop expr early
            raise FilterError("unmatched ')'", tok.col)
        return node

    def expr(self) -> Node:
        parts = [self.conjunction()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.pos += 1
            self.need_term(tok)
            parts.append(self.conjunction())
        return any_of(parts)

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in ("or", ")"):
            if tok.kind == "and":
                self.pos += 1
                self.need_term(tok)
            parts.append(self.unary())
        return all_of(parts)

    def need_term(self, after: Token) -> None:
        tok = self.peek()
        if tok is None or tok.kind in ("or", "and", ")"):
            raise FilterError(f"expected a term after {after.text!r}",
                              tok.col if tok is not None else self.end_col)

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise FilterError("expected a term", self.end_col)
        self.pos += 1
        if tok.kind == "not":
            self.need_term(tok)
            return Not(self.unary())
        if tok.kind == "(":
            inner = self.peek()
            if inner is not None and inner.kind == ")":
                raise FilterError("empty parentheses", tok.col)
            if inner is None:
                raise FilterError("unclosed '('", tok.col)
            node = self.expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise FilterError("unclosed '('", tok.col)
            self.pos += 1
            return node
        if tok.kind == "term":
            assert tok.node is not None
            return tok.node
        if tok.kind == ")":
            raise FilterError("unmatched ')'", tok.col)
        raise FilterError(f"{tok.text!r} needs a term before it", tok.col)


def parse_tree(text: str) -> Node | None:
    """The filter tree for ``text``; None when the text is blank (match everything)."""
    return Parser(Scanner(text).tokens(), len(text)).parse()
