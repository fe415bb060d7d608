"""Text fit for a terminal: what a server sends is shown, never obeyed.

Frame text, close reasons and error messages come from the network. Printed as they
are, an ESC (or a C1 CSI) would move the cursor, retitle the window, rewrite earlier
lines or hide text. :func:`safe_text` makes every control character visible as an
escape (``\\x1b``, ``\\x9b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import re

# C0 except TAB, DEL, C1, and the Unicode line separators and bidirectional overrides
# (which reorder what follows them on the line).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_NL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, newlines: bool = False) -> str:
    """``text`` with control characters written as escapes; ``text`` itself when it has none.

    TAB stays. ``newlines=True`` keeps ``\\n`` for messages made of several lines (our
    own diagnostics); a lone ``\\r`` is always shown as ``\\x0d``.
    """
    pattern = _CONTROL_KEEP_NL if newlines else _CONTROL
    return pattern.sub(_visible, text) if pattern.search(text) else text
