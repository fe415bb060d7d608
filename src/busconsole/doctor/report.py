"""The doctor's report as text (most severe first) and as JSON, and the README table of checks."""

from __future__ import annotations

from collections import Counter

import orjson

from busconsole.doctor.model import CHECKS, SEVERITY_RANK, Report, Severity, iso

_SHOWN = 8  # entities / connections named on one line


def _names(values: list[str]) -> str:
    more = len(values) - _SHOWN
    return ", ".join(values[:_SHOWN]) + (f" (+{more} more)" if more > 0 else "")


def text_lines(report: Report) -> list[str]:
    counts = Counter(f.severity for f in report.findings)
    head = f"bus doctor: {report.frames:,} frames, "
    if not report.findings:
        return [head + "no findings"]
    parts = [f"{counts[s]} {s}" for s in ("error", "warn", "info") if counts[s]]
    out = [head + f"{len(report.findings)} findings ({', '.join(parts)})", ""]
    for f in report.findings:
        out.append(f"{f.severity.upper():<5} {f.check}: {f.summary}")
        out.append(f"      count: {f.count}")
        out.extend(f"      {line}" for line in f.details)
        if f.entities:
            out.append(f"      entities: {_names(f.entities)}")
        if f.conns:
            out.append(f"      connections: {_names(f.conns)}")
        if f.examples:
            out.append("      examples: " + ", ".join(f"#{seq} {iso(t)}" for seq, t in f.examples))
        out.append(f"      filter: {f.filter}")
        out.append(f"      why: {f.why}")
        out.append("")
    return out[:-1]


def to_json(report: Report) -> bytes:
    """A JSON array of findings: check, severity, count, summary, filter, examples (seqs)..."""
    return orjson.dumps([f.to_json() for f in report.findings], option=orjson.OPT_INDENT_2)


def reaches(report: Report, severity: Severity) -> bool:
    """Whether some finding is at least as severe as ``severity`` (``--fail-on``)."""
    worst = report.worst()
    return worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK[severity]


def checks_markdown() -> str:
    """The README's table of checks, generated from the one table in checks.py."""
    rows = ["| check | severity | why it matters |", "|---|---|---|"]
    rows += [f"| `{c.check}` | {c.severity} | {c.why} |" for c in CHECKS]
    return "\n".join(rows)
