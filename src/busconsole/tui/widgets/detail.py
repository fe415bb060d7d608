"""The detail pane: everything busconsole knows about the selected frame, one tab per angle.

Tabs are filled only when the selection changes (and the pane is open), from the
store's pairing, state and console indexes; nothing is computed per frame.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane, TextArea

from busconsole.console import ConsoleEntry, entries_from_obj
from busconsole.render import LEVEL_STYLES, fmt_time, type_style
from busconsole.state import Change, Diff
from busconsole.store.shown import ShownStore
from busconsole.tui.widgets.json_tree import JsonTree, scalar_text
from busconsole.tui.widgets.stream import row_text

MAX_PRETTY_BYTES = 200_000  # beyond this the side-by-side pair shows the start; raw has it all
CHANGE_MARKS = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}


def pretty_json(obj: Any) -> RenderableType:
    text = orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()
    if len(text) > MAX_PRETTY_BYTES:
        text = text[:MAX_PRETTY_BYTES] + "\n… (truncated; see the raw tab)"
    return Syntax(text, "json", theme="monokai", background_color="default", word_wrap=True)


def _value(value: Any) -> Text:
    if isinstance(value, (dict, list)):
        dumped = orjson.dumps(value).decode()
        return Text(dumped if len(dumped) <= 120 else dumped[:119] + "…", "dim")
    return scalar_text(value)


def changes_table(changes: list[Change]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(style="bold")
    table.add_column()
    for ch in changes:
        mark, style = CHANGE_MARKS[ch.kind]
        if ch.kind == "added":
            value = _value(ch.new)
        elif ch.kind == "removed":
            value = _value(ch.old)
        else:
            value = Text.assemble(_value(ch.old), (" → ", "bold"), _value(ch.new))
        table.add_row(Text(mark, style), Text(ch.path), value)  # a str would be read as markup: [id=3]
    return table


def console_table(entries: list[ConsoleEntry]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True)
    table.add_column()
    for e in entries:
        style = LEVEL_STYLES.get(e.level, "")
        body = Text(e.message)
        if e.stack_trace:
            body.append("\n" + e.stack_trace, "dim")
        table.add_row(fmt_time(e.t) if e.t is not None else "", Text(e.level.upper(), style), body)
    return table


class DetailPane(Horizontal):
    """Tabs JSON / Raw / Pair / Diff / Effects / Console for one frame."""

    def __init__(self, store: ShownStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.index: int | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane("JSON", id="tab-json"):
                yield JsonTree(id="detail-json")
            with TabPane("Raw", id="tab-raw"):
                yield TextArea("", read_only=True, soft_wrap=True, id="detail-raw", show_line_numbers=False)
            with TabPane("Pair", id="tab-pair"):
                yield Static("", id="pair-head")
                with Horizontal(id="pair-sides"):
                    with VerticalScroll(classes="pair-side"):
                        yield Static("", id="pair-request")
                    with VerticalScroll(classes="pair-side"):
                        yield Static("", id="pair-reply")
            with TabPane("Diff", id="tab-diff"), VerticalScroll():
                yield Static("", id="detail-diff")
            with TabPane("Effects", id="tab-effects"), VerticalScroll():
                yield Static("", id="detail-effects")
            with TabPane("Console", id="tab-console"), VerticalScroll():
                yield Static("", id="detail-console")

    def show(self, index: int | None) -> None:
        """Fill every tab for the frame at store ``index``."""
        self.index = index
        if index is None or index < self.store.first_index or index >= len(self.store):
            self.query_one("#detail-json", JsonTree).show({})
            self.query_one("#detail-raw", TextArea).load_text("")
            return
        frame = self.store.frame(index)
        obj = frame.obj
        tree = self.query_one("#detail-json", JsonTree)
        tree.show(obj if obj is not None else {"malformed": frame.malformed.reason if frame.malformed else "?"})
        self.query_one("#detail-raw", TextArea).load_text(frame.text())
        self._show_pair(index)
        self.query_one("#detail-diff", Static).update(self._diff(index))
        self.query_one("#detail-effects", Static).update(self._effects(index))
        self.query_one("#detail-console", Static).update(self._console_tab(index, obj))

    def _side(self, index: int) -> RenderableType:
        facts = self.store.facts(index)
        obj = self.store.frame(index).obj
        head = Text.assemble((fmt_time(facts.t), "dim"), " ", (facts.type, type_style(facts.type)))
        return Group(head, pretty_json(obj) if obj is not None else Text(self.store.frame(index).text()))

    def _show_pair(self, index: int) -> None:
        head = self.query_one("#pair-head", Static)
        request = self.query_one("#pair-request", Static)
        reply = self.query_one("#pair-reply", Static)
        pairing = self.store.pairing
        pair = pairing.pair_of(index)
        if pair is not None:
            verdict = Text("answered by ERROR", "bold red") if pair.failed else Text("answered", "green")
            guess = ("  paired by order: a guess (the reply names no request)", "yellow") if pair.guessed else ""
            head.update(Text.assemble(verdict, "  latency ", (f"{pair.latency:.1f} ms", "bold"), guess))
            request.update(self._side(pair.request))
            reply.update(self._side(pair.reply))
            return
        facts = self.store.facts(index)
        if pairing.is_pending(index):
            timed_out = pairing.is_timed_out(index)
            head.update(Text("timed out: no reply" if timed_out else "pending: no reply yet", "bold red" if timed_out else "yellow"))
            request.update(self._side(index))
            reply.update(Text("(waiting)", "dim"))
        elif pairing.is_orphan(index):
            head.update(Text("orphan reply: no request of this session matches it", "yellow"))
            request.update(Text("(no request)", "dim"))
            reply.update(self._side(index))
        else:
            head.update(Text(f"{facts.type} is not part of a request/reply pair", "dim"))
            request.update("")
            reply.update("")

    def _diff(self, index: int) -> RenderableType:
        """What this frame changed in its view's state; for a request (a MUTATION), what its
        reply and the STORE_UPDATEs it caused changed, each against its own view."""
        state = self.store.state
        own = state.diff_at(index)
        if own is not None:
            return self._diff_block(own)
        facts = self.store.facts(index)
        pairing = self.store.pairing
        pair = pairing.pair_of(index)
        related = [pair.reply] if pair is not None and pair.request == index else []
        related += [i for i in pairing.effects_of(index) if i not in related]
        blocks = [
            self._diff_block(d, caused=True)
            for d in (state.diff_at(i) for i in related if i >= self.store.first_index)
            if d is not None
        ]
        if blocks:
            head = Text.assemble((f"What this {facts.type} changed", "bold"),
                                 f": its reply and the updates it caused ({len(blocks)})")
            return Group(head, *blocks)
        if facts.type == "MUTATION" and pair is None:
            waiting = "timed out: no reply" if pairing.is_timed_out(index) else "no reply yet"
            return Text(f"This MUTATION changed nothing seen so far ({waiting}).", "dim")
        if facts.type == "MUTATION":
            return Text("This MUTATION's reply and effects changed no entity state seen here.", "dim")
        return Text("This frame changed no entity state.", "dim")

    def _frame_ref(self, i: int, with_conn: bool = True) -> Text:
        """``#i`` with what that frame is: its time, type and connection."""
        if i < self.store.first_index or i >= len(self.store):
            return Text(f"#{i} (no longer in memory)", "dim")
        f = self.store.facts(i)
        return Text.assemble((f"#{i}", "bold"), " ", (fmt_time(f.t), "dim"), " ", (f.type, type_style(f.type)),
                             f" on {f.conn}" if f.conn and with_conn else "")

    def _diff_block(self, diff: Diff, caused: bool = False) -> RenderableType:
        view = Text.assemble((diff.entity, "bold"))
        if diff.conn:
            view.append(f" on {diff.conn}")
        if diff.query is not None:
            q = orjson.dumps(diff.query).decode()
            view.append("  query ", "dim")
            view.append(q if len(q) <= 100 else q[:99] + "…")
        head = Text.assemble(view, f": {len(diff.changes)} change(s)")
        if caused:
            head = Text.assemble(self._frame_ref(diff.index, with_conn=False), " → ", head)
        if diff.previous is not None:
            since = Text.assemble("  since ", self._frame_ref(diff.previous), (", the previous state of this view", "dim"))
        else:
            since = Text("  first state seen of this view", "dim")
        if not diff.changes:
            return Group(head, since)
        return Group(head, since, changes_table(diff.changes))

    def _effects(self, index: int) -> RenderableType:
        pairing = self.store.pairing
        width = max(self.size.width - 4, 60)
        effects = pairing.effects_of(index)
        cause = pairing.cause_of(index)
        lines: list[RenderableType] = []
        if cause is not None:
            lines.append(Text("Caused by:", "bold"))
            lines.append(row_text(self.store.facts(cause), width))
        if effects:
            lines.append(Text(f"STORE_UPDATEs this mutation caused ({len(effects)}):", "bold"))
            lines.extend(row_text(self.store.facts(i), width) for i in effects if i >= self.store.first_index)
        return Group(*lines) if lines else Text("No effects: only mutations cause STORE_UPDATEs.", "dim")

    def _console_tab(self, index: int, obj: dict[str, Any] | None) -> RenderableType:
        if obj is None or self.store.facts(index).type != "CONSOLE_LOGS":
            return Text("Not a CONSOLE_LOGS frame.", "dim")
        entries = entries_from_obj(obj, index)
        return Group(Text(f"{len(entries)} console message(s)", "bold"), console_table(entries))

    def cycle_tab(self, step: int) -> None:
        tabs = self.query_one("#detail-tabs", TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane) if pane.id]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]
