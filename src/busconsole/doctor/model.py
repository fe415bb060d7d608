"""What the doctor reports: the checks' table, the thresholds they use, findings and the report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from busconsole.doctor.marks import Marks
from busconsole.filtering.keys import LARGE_BYTES

Severity = Literal["info", "warn", "error"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warn": 1, "error": 2}
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CheckDef:
    check: str
    severity: Severity
    why: str


CHECKS: tuple[CheckDef, ...] = (
    CheckDef("missing-request-id", "warn",
             "A QUERY or MUTATION without a requestId cannot be correlated: the framework's server "
             "echoes no id in MUTATION_SUCCESS, so replies pair by guesswork and a UI may apply the "
             "wrong answer."),
    CheckDef("large-payload", "warn",
             "Frames over the threshold (default 256 KiB) stall the socket for every other message; "
             "a STORE_UPDATE is sent to every subscriber, so its size times the subscriber count is "
             "what the server really writes."),
    CheckDef("subscription-leak", "warn",
             "A connection that closes (or a session that ends) with subscriptions never "
             "unsubscribed is a component that forgot its cleanup: the memory leak the framework's "
             "best practices warn about."),
    CheckDef("duplicate-subscribe", "warn",
             "The same entity subscribed twice on one connection: two components each subscribe "
             "and each will get every STORE_UPDATE handled twice."),
    CheckDef("unanswered", "error",
             "Requests with no reply within the timeout leave a UI spinning; the server dropped or "
             "failed them silently."),
    CheckDef("slow-entity", "warn",
             "A request type and entity whose p95 latency is over the threshold (default 1000 ms): "
             "the query or the handler behind it needs work."),
    CheckDef("retry-storm", "error",
             "The same request sent 5 or more times within 10 s on one connection: a retry loop "
             "without backoff, which turns one failure into load on the server."),
    CheckDef("repeated-query", "warn",
             "Identical queries from one connection within 1 s: the N+1 pattern, components "
             "asking for what another just fetched instead of sharing the store."),
    CheckDef("error-burst", "error",
             "ERROR frames and console errors, grouped by their message with numbers and ids "
             "taken out, so one bug with many occurrences reads as one line."),
    CheckDef("reconnect-loop", "error",
             "A connection re-established 3 or more times a minute: the socket keeps dropping (or "
             "the client keeps dropping it), and every reconnect re-subscribes and re-queries."),
)
CHECK_BY_ID: dict[str, CheckDef] = {c.check: c for c in CHECKS}


@dataclass(frozen=True)
class Thresholds:
    """What each check counts as a problem; names are the ``--threshold`` and profile keys."""

    large_bytes: int = LARGE_BYTES
    fanout_bytes: int = 1024 * 1024  # a STORE_UPDATE's size x subscribers over this
    timeout_s: float = 30.0
    slow_ms: float = 1000.0
    retry_count: int = 5
    retry_window_s: float = 10.0
    repeat_window_s: float = 1.0
    reconnect_count: int = 3
    reconnect_window_s: float = 60.0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def replace(self, values: dict[str, float]) -> Thresholds:
        """These thresholds with ``values`` over them; ValueError names an unknown key."""
        known = {f.name: f.type for f in fields(self)}
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown threshold {key!r} (known: {', '.join(known)})")
            if value < 0:
                raise ValueError(f"threshold {key} must not be negative")
            out[key] = int(value) if known[key] in (int, "int") else float(value)
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        return Thresholds(**{**current, **out})


@dataclass
class Finding:
    check: str
    severity: Severity
    count: int
    summary: str
    filter: str
    examples: list[tuple[int, float]] = field(default_factory=list)  # (seq, t)
    entities: list[str] = field(default_factory=list)
    conns: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # extra lines (the top error groups...)

    @property
    def why(self) -> str:
        return CHECK_BY_ID[self.check].why

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "count": self.count,
            "summary": self.summary,
            "filter": self.filter,
            "examples": [seq for seq, _ in self.examples],
            "example_times": [iso(t) for _, t in self.examples],
            "entities": self.entities,
            "conns": self.conns,
            "details": self.details,
        }


@dataclass
class Report:
    frames: int
    findings: list[Finding]
    marks: Marks

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__, default=None)


def iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------- the pass


def thresholds_from(profile: dict[str, float] | None, options: Iterable[str] = ()) -> Thresholds:
    """The defaults, then a profile's ``doctor`` table, then ``NAME=VALUE`` options over it.
    ValueError (with the bad text) for an unknown name or a value that is not a number."""
    values: dict[str, float] = dict(profile or {})
    for text in options:
        name, eq, raw = text.partition("=")
        try:
            values[name.strip()] = float(raw)
        except ValueError:
            raise ValueError(f"--threshold {text!r}: expected NAME=NUMBER "
                             f"(names: {', '.join(Thresholds.names())})") from None
        if not eq:
            raise ValueError(f"--threshold {text!r}: expected NAME=NUMBER")
    return Thresholds().replace(values)
