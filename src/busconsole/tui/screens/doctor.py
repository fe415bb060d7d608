"""The bus doctor panel (``D``): findings about the traffic, most severe first, kept up to date.

The findings are recomputed on a timer when the store has grown, at most a few times a
second and less often when a pass is slow (never more than a quarter of the time). A
replay shows the whole file's findings (its browse store), not the playback clock's.
``enter`` closes the panel with the highlighted finding's filter, which the app applies.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from busconsole.doctor import Finding, Report, Thresholds, diagnose
from busconsole.doctor.model import iso
from busconsole.sessions.base import Session

REFRESH_SECONDS = 0.5  # the timer; a recompute also waits 4x its own last duration
SEVERITY_STYLES = {"error": "bold red", "warn": "bold yellow", "info": "bold cyan"}


def finding_label(f: Finding) -> Text:
    return Text.assemble((f"{f.severity.upper():<5} ", SEVERITY_STYLES.get(f.severity, "")),
                         (f.check, "bold"), (f"  {f.count:,}  ", "bold"), (f.summary, "dim"))


def finding_detail(f: Finding) -> Text:
    text = Text()
    text.append(f"{f.check}", "bold")
    text.append(f"  {f.severity}  count {f.count:,}\n", SEVERITY_STYLES.get(f.severity, ""))
    text.append(f"{f.summary}\n")
    for line in f.details:
        text.append(f"  {line}\n", "dim")
    if f.entities:
        text.append("entities: ", "bold")
        text.append(", ".join(f.entities[:12]) + ("…" if len(f.entities) > 12 else "") + "\n")
    if f.conns:
        text.append("connections: ", "bold")
        text.append(", ".join(f.conns[:12]) + ("…" if len(f.conns) > 12 else "") + "\n")
    if f.examples:
        text.append("examples: ", "bold")
        text.append(", ".join(f"#{seq} {iso(t)}" for seq, t in f.examples) + "\n")
    text.append("filter: ", "bold")
    text.append(f"{f.filter}\n", "#d7af5f")
    text.append(f.why, "italic dim")
    return text


class DoctorScreen(Screen[str | None]):
    """Dismissed with the chosen finding's filter (``enter``) or None (``escape``/``D``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,D", "close", "Back to the stream"),
        Binding("enter", "apply", "Show this finding's frames", key_display="⏎"),
    ]
    DEFAULT_CSS = """
    DoctorScreen #doctor-title { height: 1; color: $accent; padding: 0 1; }
    DoctorScreen #doctor-list { height: 1fr; border: round $primary; }
    DoctorScreen #doctor-detail { height: 12; border: round $primary; padding: 0 1; }
    """

    def __init__(self, session: Session, thresholds: Thresholds | None = None) -> None:
        super().__init__()
        # A replay's whole file (its browse store), not the playback clock's view of it.
        self.doctor_store: Any = getattr(session, "browse", session.store)
        self.thresholds = thresholds or Thresholds()
        self.report: Report | None = None
        self._seen = -1
        self._next_at = 0.0
        self._shown: list[tuple[str, int, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="doctor-title")
            yield OptionList(id="doctor-list")
            with VerticalScroll(id="doctor-detail"):
                yield Static("", id="doctor-detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_findings()
        self.set_interval(REFRESH_SECONDS, self.refresh_findings)
        self.query_one(OptionList).focus()

    def refresh_findings(self, force: bool = False) -> None:
        store = self.doctor_store
        now = time.monotonic()
        if not force and (len(store) == self._seen or now < self._next_at):
            return
        self._seen = len(store)
        self.report = report = diagnose(store, None, self.thresholds)
        store.marks = report.marks  # the flags is:leak and friends read, fresh
        took = time.monotonic() - now
        self._next_at = now + max(REFRESH_SECONDS, 4 * took)
        title = Text.assemble(("Bus doctor", "bold"), f"  {report.frames:,} frames  ",
                              (f"{len(report.findings)} findings" if report.findings else "no findings", "bold"),
                              ("  enter shows a finding's frames · esc back", "dim"))
        self.query_one("#doctor-title", Static).update(title)
        shown = [(f.check, f.count, f.summary) for f in report.findings]
        if shown == self._shown:
            self._show_detail()
            return
        self._shown = shown
        olist = self.query_one(OptionList)
        keep = olist.highlighted
        olist.clear_options()
        olist.add_options([Option(finding_label(f), id=f.check) for f in report.findings])
        if report.findings:
            olist.highlighted = min(keep or 0, len(report.findings) - 1)
        self._show_detail()

    def _selected(self) -> Finding | None:
        olist = self.query_one(OptionList)
        report = self.report
        if report is None or olist.highlighted is None or olist.highlighted >= len(report.findings):
            return None
        return report.findings[olist.highlighted]

    def _show_detail(self) -> None:
        f = self._selected()
        text = finding_detail(f) if f is not None else Text("Nothing to report so far.", "dim")
        self.query_one("#doctor-detail-text", Static).update(text)

    @on(OptionList.OptionHighlighted, "#doctor-list")
    def _highlighted(self) -> None:
        self._show_detail()

    @on(OptionList.OptionSelected, "#doctor-list")
    def _chosen(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        f = self._selected()
        if f is None:
            return
        self.dismiss(f.filter)

    def action_close(self) -> None:
        self.dismiss(None)
