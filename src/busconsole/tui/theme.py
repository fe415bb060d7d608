"""busconsole's own theme: a dark, low-glare palette where bus colours (per type) stand out."""

from __future__ import annotations

from textual.theme import Theme

BUSCONSOLE_THEME = Theme(
    name="busconsole",
    primary="#5fafd7",
    secondary="#87afaf",
    accent="#d7af5f",
    warning="#ffaf5f",
    error="#ff5f5f",
    success="#87d787",
    foreground="#d0d0d0",
    background="#121418",
    surface="#1a1d23",
    panel="#23272f",
    dark=True,
    variables={
        "footer-key-foreground": "#d7af5f",
        "block-cursor-background": "#2b4a63",
        "block-cursor-foreground": "#ffffff",
        "input-selection-background": "#5fafd7 35%",
    },
)
