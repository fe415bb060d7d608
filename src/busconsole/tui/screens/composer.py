"""The composer: build a frame, check it as you type, send it, and watch its reply arrive.

A modal over the stream, so the person never loses the traffic they are debugging.
All the rules (validation, building, placeholders, read-only and confirmations) live
in :mod:`busconsole.compose.draft`, shared with ``busconsole send``; this screen only wires
fields to them. The reply is read from the session's store (the same pairing the
stream shows), polled a few times a second rather than per frame.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from busconsole.compose.draft import (
    COMPOSE_TYPES,
    DEFAULT_CONFIRM_BYTES,
    Confirmation,
    Draft,
    Refusal,
    Validation,
    check_send,
    draft_from_frame,
    validate,
)
from busconsole.compose.history import History, HistoryEntry
from busconsole.compose.json_text import parse_json
from busconsole.compose.reply import ReplyStatus, reply_status
from busconsole.compose.templates import Template, TemplateError, Templates
from busconsole.render import fmt_time, summary
from busconsole.tui.widgets.composer_dialogs import ConfirmSend, NamePrompt, Picker
from busconsole.tui.widgets.composer_fields import FieldInput, LiveSuggester
from busconsole.wire import MUTATION_OPERATIONS, new_request_id

if TYPE_CHECKING:
    from busconsole.sessions.base import Session

POLL_SECONDS = 0.1
REPLY_MAX_LINES = 5_000  # the reply pane scrolls; past this many lines the stream has the rest
PREVIEW_MAX_BYTES = 512 * 1024  # pretty-printed once per reply, not per poll
# The split between the payload editor and the reply pane, as (editor, reply) weights: small
# until something is sent, even once a reply arrives, then as alt+up/alt+down (or ctrl+o) set it.
SPLITS = ((4, 1), (2, 1), (1, 1), (1, 2), (1, 4))
SPLIT_EMPTY, SPLIT_REPLY = 1, 3
_WITH_ID = ("QUERY", "MUTATION")


class ComposerScreen(ModalScreen[None]):
    """Compose and send one frame at a time; ``initial`` (a frame object) is edit-and-resend."""

    DEFAULT_CSS = """
    ComposerScreen { align: center middle; }
    #composer { width: 96%; height: 94%; border: round $primary; background: $surface; padding: 0 1; }
    #composer-head { height: 3; }
    #composer-type { width: 20; }
    #composer-entity { width: 1fr; }
    #composer-operation { width: 22; }
    #composer-ids { height: 1; color: $text-muted; }
    #composer-payload { height: 2fr; min-height: 4; }
    #composer-issues { height: auto; max-height: 4; }
    #composer-reply-pane {
        height: 1fr; min-height: 3;
        border-top: solid $primary-darken-2; scrollbar-size-vertical: 1;
    }
    #composer-reply-pane:focus { border-top: solid $accent; }
    #composer-reply { height: auto; }
    """

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("ctrl+enter", "send", "Send", show=False, priority=True),
        Binding("escape", "close", "Close"),
        Binding("ctrl+up", "recall(-1)", "Older", show=False, priority=True),
        Binding("ctrl+down", "recall(1)", "Newer", show=False, priority=True),
        Binding("up", "recall(-1)", "Older", show=False),
        Binding("down", "recall(1)", "Newer", show=False),
        Binding("ctrl+r", "history", "History", priority=True),
        Binding("ctrl+t", "templates", "Templates", priority=True),
        Binding("f2", "save_template", "Save template"),
        Binding("ctrl+f", "format", "Format JSON", show=False, priority=True),
        Binding("ctrl+n", "new", "New", show=False, priority=True),
        Binding("alt+up", "split(1)", "Reply bigger", show=False, priority=True),
        Binding("alt+down", "split(-1)", "Reply smaller", show=False, priority=True),
        Binding("ctrl+o", "reply_zoom", "Zoom reply", priority=True),
    ]

    def __init__(
        self,
        session: Session,
        initial: dict[str, Any] | None = None,
        *,
        history: History | None = None,
        templates: Templates | None = None,
        confirm_bytes: int = DEFAULT_CONFIRM_BYTES,
    ) -> None:
        super().__init__()
        self.session = session
        self.history = history or History()
        self.templates = templates or Templates()
        self.confirm_bytes = confirm_bytes
        self.draft = draft_from_frame(initial) if initial is not None else Draft()
        self.draft.request_id = self.draft.request_id or new_request_id()
        self.validation = Validation()
        self.last_sent: dict[str, Any] | None = None
        self.reply: ReplyStatus | None = None
        self._typed: Draft | None = None  # the draft put aside while recalling history
        self.split = SPLIT_EMPTY  # index into SPLITS
        self._split_chosen = False  # the person resized: a reply no longer resizes the pane
        self._unzoomed: int | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        d = self.draft
        with Vertical(id="composer") as box:
            box.border_title = "Compose" + (" · read-only" if self.session.read_only else "")
            box.border_subtitle = self.session.title
            with Horizontal(id="composer-head"):
                yield Select([(t, t) for t in COMPOSE_TYPES], value=d.kind, allow_blank=False, id="composer-type")
                yield FieldInput(d.entity, placeholder="entity", id="composer-entity",
                            suggester=LiveSuggester(self._entities))
                yield FieldInput(d.operation, placeholder="operation", id="composer-operation",
                            suggester=LiveSuggester(lambda: MUTATION_OPERATIONS))
            yield Label(id="composer-ids")
            yield TextArea.code_editor(d.payload_text, language="json", id="composer-payload",
                                       tab_behavior="focus")
            yield Static(id="composer-issues")
            with VerticalScroll(id="composer-reply-pane"):
                yield Static("Nothing sent yet.", id="composer-reply")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_split()
        self._show_fields()
        self._revalidate()
        target = "#composer-payload" if self.draft.payload_text else "#composer-entity"
        self.query_one(target).focus()
        self.set_interval(POLL_SECONDS, self._poll_reply)

    def _entities(self) -> list[str]:
        """Entities seen on the bus, named by templates, and those the session knows of (the demo's
        reference server); a real server's are only what the bus shows."""
        seen = list(self.session.store.values("entity"))
        try:
            named = [t.entity for t in self.templates.all().values() if t.entity]
        except TemplateError:
            named = []
        return list(dict.fromkeys([*seen, *named, *self.session.entity_hints]))

    # ------------------------------------------------------------------ draft <-> fields

    def _read_fields(self) -> Draft:
        kind = self.query_one("#composer-type", Select).value
        return Draft(
            kind=str(kind),
            entity=self.query_one("#composer-entity", Input).value,
            operation=self.query_one("#composer-operation", Input).value,
            payload_text=self.query_one("#composer-payload", TextArea).text,
            extra=self.draft.extra,
            request_id=self.draft.request_id,
        )

    def load_draft(self, draft: Draft) -> None:
        """Put ``draft`` in the fields (history, template, edit-and-resend), with a new requestId."""
        if draft.kind not in COMPOSE_TYPES:
            self.notify(f"cannot compose a {draft.kind}; use RAW", severity="error")
            return
        draft.request_id = draft.request_id or new_request_id()
        self.draft = draft
        self.query_one("#composer-type", Select).value = draft.kind
        self.query_one("#composer-entity", Input).value = draft.entity
        self.query_one("#composer-operation", Input).value = draft.operation
        self.query_one("#composer-payload", TextArea).load_text(draft.payload_text)
        self._show_fields()
        self._revalidate()

    def _show_fields(self) -> None:
        kind = self.draft.kind
        self.query_one("#composer-entity").display = kind != "RAW"
        self.query_one("#composer-operation").display = kind == "MUTATION"
        payload = self.query_one("#composer-payload", TextArea)
        payload.border_title = {
            "QUERY": "payload: Stellar query (blank = all of the entity)",
            "MUTATION": "payload: the record (UPDATE and DELETE need its id)",
            "RAW": "the whole frame, sent as typed",
        }.get(kind, "payload (not sent)")

    @on(Select.Changed)
    @on(Input.Changed)
    @on(TextArea.Changed)
    def _edited(self) -> None:
        self.draft = self._read_fields()
        self._show_fields()
        self._revalidate()

    def _revalidate(self) -> None:
        d = self.draft
        self.validation = validate(d.kind, d.entity, d.operation, d.payload_text)
        lines = Text()
        for issue in self.validation.errors:
            lines.append(f"✗ {issue}\n", style="bold red")
        for issue in self.validation.warnings:
            lines.append(f"! {issue}\n", style="yellow")
        if self.session.read_only and d.kind == "MUTATION":
            lines.append("! read-only session: a MUTATION will be refused\n", style="yellow")
        if self.validation.ok and not lines:
            lines.append(f"✓ valid {d.kind}; ctrl+s sends it", style="green")
        lines.rstrip()
        self.query_one("#composer-issues", Static).update(lines)
        self._show_ids()

    def _show_ids(self) -> None:
        d = self.draft
        if d.kind in _WITH_ID:
            ids = f"requestId {d.request_id}  ·  timestamp set at send"
        elif d.kind == "RAW":
            ids = "RAW: requestId and timestamp as typed ({{now}} {{uuid}} expand at send)"
        else:
            ids = f"{d.kind} carries no requestId  ·  timestamp set at send"
        if d.extra:
            ids += f"  ·  kept: {', '.join(d.extra)}"
        self.query_one("#composer-ids", Label).update(ids)

    # ------------------------------------------------------------------ sending

    def action_send(self) -> None:
        if not self.validation.ok:
            self._refuse(f"not sent: {self.validation.reason}")
            return
        if not self.session.can_send:
            self._refuse("not sent: this session has no server to send to")
            return
        frame = self.draft.build()
        verdict = check_send(frame, self.session.read_only, self.confirm_bytes)
        if isinstance(verdict, Refusal):
            self._refuse(f"not sent: {verdict.reason}")
        elif isinstance(verdict, Confirmation):
            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._send(frame)
                else:
                    self._refuse("not sent: cancelled")

            self.app.push_screen(ConfirmSend(verdict.prompt), confirmed)
        else:
            self._send(frame)

    def _refuse(self, message: str) -> None:
        self._show_reply(Text(message, style="bold red"))

    def _show_reply(self, text: Text) -> None:
        self.query_one("#composer-reply", Static).update(text)
        self.query_one("#composer-reply-pane", VerticalScroll).scroll_home(animate=False)

    @work(exclusive=True, group="composer-send")
    async def _send(self, frame: dict[str, Any]) -> None:
        try:
            await self.session.send(frame)
        except (PermissionError, RuntimeError, OSError) as exc:
            self._refuse(f"not sent: {exc}")
            return
        self.history.append(frame)
        self._typed = None
        self.last_sent = frame
        self.reply = None
        what = f"{frame.get('type')} {frame.get('entity') or ''}".strip()
        waiting = "waiting for the reply…" if frame.get("requestId") else "no reply is paired with this type"
        self._show_reply(Text(f"→ sent {what}; {waiting}", style="cyan"))
        self.draft.request_id = new_request_id()  # the next send is a new request
        self._show_ids()

    def _poll_reply(self) -> None:
        sent = self.last_sent
        rid = sent.get("requestId") if sent else None
        if not isinstance(rid, str) or (self.reply is not None and self.reply.done):
            return
        status = reply_status(self.session.store, rid)
        if status.state in ("unseen", "waiting") and self.reply is not None and self.reply.state == status.state:
            return
        self.reply = status
        if status.done and not self._split_chosen:
            self._set_split(max(self.split, SPLIT_REPLY))
        self._show_reply(self._reply_text(status, rid))

    def _reply_text(self, status: ReplyStatus, rid: str) -> Text:
        if status.state == "unseen":
            return Text(f"→ {rid} not on the bus yet (queued while offline?)", style="cyan")
        if status.state == "waiting":
            return Text(f"→ {rid} sent; waiting for the reply…", style="cyan")
        if status.state == "timed_out":
            return Text(f"✗ no reply to {rid} within {self.session.store.pairing.timeout:g} s", style="bold red")
        assert status.reply_index is not None
        captured = self.session.store.frame(status.reply_index)
        style = "bold red" if status.state == "error" else "bold green"
        out = Text()
        out.append(f"← {status.reply_type}", style=style)
        out.append(f"  {status.latency:.1f} ms  ·  {fmt_time(captured.t)}  ·  {rid}\n", style="bold")
        out.append(summary(captured) + "\n")
        if captured.size > PREVIEW_MAX_BYTES:
            out.append(f"({captured.size:,} bytes: open it in the stream)", style="dim")
            return out
        body = json.dumps(status.reply, indent=2, ensure_ascii=False).splitlines()
        more = f"\n… {len(body) - REPLY_MAX_LINES} more lines in the stream" if len(body) > REPLY_MAX_LINES else ""
        out.append("\n".join(body[:REPLY_MAX_LINES]) + more)
        return out

    # ------------------------------------------------------------------ the reply pane

    def _apply_split(self) -> None:
        editor, reply = SPLITS[self.split]
        self.query_one("#composer-payload").styles.height = f"{editor * 2}fr"
        self.query_one("#composer-reply-pane").styles.height = f"{reply * 2}fr"
        pane = self.query_one("#composer-reply-pane", VerticalScroll)
        pane.border_title = "reply · alt+↑↓ resize · ctrl+o zoom · tab in to scroll"

    def _set_split(self, split: int) -> None:
        self.split = max(0, min(len(SPLITS) - 1, split))
        self._apply_split()

    def action_split(self, step: int) -> None:
        """Give the reply pane more (1) or less (-1) of the room it shares with the payload."""
        self._split_chosen = True
        self._unzoomed = None
        self._set_split(self.split + step)

    def action_reply_zoom(self) -> None:
        """The reply pane as large as it goes, and back."""
        self._split_chosen = True
        if self._unzoomed is None:
            self._unzoomed = self.split
            self._set_split(len(SPLITS) - 1)
        else:
            self._set_split(self._unzoomed)
            self._unzoomed = None

    # ------------------------------------------------------------------ history and templates

    def action_recall(self, step: int) -> None:
        entry = self.history.previous() if step < 0 else self.history.next()
        if entry is not None:
            if self._typed is None:
                self._typed = self._read_fields()
            self.load_draft(draft_from_frame(entry.frame))
        elif step > 0 and self._typed is not None:
            self.load_draft(self._typed)
            self._typed = None

    def action_history(self) -> None:
        def found(text: str) -> list[tuple[str, HistoryEntry]]:
            return [(_history_label(e), e) for e in self.history.search(text, limit=200)]

        def picked(entry: HistoryEntry | None) -> None:
            if entry is not None:
                self.load_draft(draft_from_frame(entry.frame))

        self.app.push_screen(Picker[HistoryEntry]("History (newest first)", found), picked)

    def action_templates(self) -> None:
        try:
            known = self.templates.all()
        except TemplateError as exc:
            self.notify(str(exc), severity="error")
            return

        def found(text: str) -> list[tuple[str, Template]]:
            needle = text.casefold()
            return [
                (f"{t.name:<28} {t.type:<11} {t.entity:<12} {t.description}", t)
                for t in sorted(known.values(), key=lambda t: t.name)
                if needle in f"{t.name} {t.type} {t.entity} {t.description}".casefold()
            ]

        def picked(t: Template | None) -> None:
            if t is not None:
                self.load_draft(Draft(t.type, t.entity, t.operation, t.payload_text))

        self.app.push_screen(Picker[Template]("Templates", found), picked)

    def action_save_template(self) -> None:
        d = self.draft

        def named(name: str | None) -> None:
            if name is None:
                return
            try:
                path = self.templates.save(Template(name, d.kind, d.entity, d.operation, d.payload_text))
            except (TemplateError, OSError) as exc:
                self.notify(f"template not saved: {exc}", severity="error")
                return
            self.notify(f"template {name!r} saved to {path}")

        self.app.push_screen(NamePrompt("Save as template", placeholder="template name"), named)

    # ------------------------------------------------------------------ editing helpers

    def action_format(self) -> None:
        area = self.query_one("#composer-payload", TextArea)
        value, error = parse_json(area.text)
        if error is None and value is not None:
            area.load_text(json.dumps(value, indent=2, ensure_ascii=False))

    def action_new(self) -> None:
        self.load_draft(Draft(self.draft.kind, self.draft.entity, self.draft.operation))

    def action_close(self) -> None:
        self.dismiss(None)


def _history_label(entry: HistoryEntry) -> str:
    f = entry.frame
    head = " ".join(str(f[k]) for k in ("type", "entity", "operation") if f.get(k))
    body = f.get("payload", f.get("messages", ""))
    return f"{fmt_time(entry.t)}  {head}  {json.dumps(body, ensure_ascii=False)[:80]}"
