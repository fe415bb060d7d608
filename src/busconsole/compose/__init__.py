"""Composing a frame: the draft and its checks, JSON as typed, placeholders, templates,
the sent history and what became of a sent frame."""
