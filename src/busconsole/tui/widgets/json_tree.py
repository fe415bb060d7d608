"""A collapsible, syntax-coloured tree of one JSON value.

Built lazily: a node's children are added when it is first expanded, so a frame with
a 10,000-row ``data`` opens as fast as a small one.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

MAX_CHILDREN = 500  # beyond this, one "… N more" leaf; the raw tab shows everything
KEY_STYLE = "bold #87afd7"
STYLES = {str: "#87d787", bool: "#d7af5f", type(None): "italic #808080"}
NUMBER_STYLE = "#d787d7"


def scalar_text(value: Any) -> Text:
    """A JSON scalar as it would be written, coloured by kind."""
    if isinstance(value, str):
        return Text(orjson.dumps(value).decode(), STYLES[str])
    if isinstance(value, bool) or value is None:
        return Text(orjson.dumps(value).decode(), STYLES[type(value)])
    return Text(str(value), NUMBER_STYLE)


def label(key: str | None, value: Any) -> Text:
    text = Text()
    if key is not None:
        text.append(key, KEY_STYLE)
        text.append(": ")
    if isinstance(value, dict):
        text.append(f"{{{len(value)}}}", "dim")
    elif isinstance(value, list):
        text.append(f"[{len(value)}]", "dim")
    else:
        text.append_text(scalar_text(value))
    return text


class JsonTree(Tree[Any]):
    """Shows a JSON value; ``show(value)`` replaces it and opens the first levels."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("frame", id=id)
        self.show_root = False
        self.guide_depth = 2

    def show(self, value: Any, open_depth: int = 2) -> None:
        self.clear()
        self.root.data = value
        self._fill(self.root, value)
        self._open(self.root, open_depth)
        self.root.expand()

    def _open(self, node: TreeNode[Any], depth: int) -> None:
        if depth <= 0:
            return
        for child in node.children:
            if child.allow_expand:
                self._fill(child, child.data)
                child.expand()
                self._open(child, depth - 1)

    def _fill(self, node: TreeNode[Any], value: Any) -> None:
        if node.children or not isinstance(value, (dict, list)):
            return
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, child in items[:MAX_CHILDREN]:
            name = key if isinstance(key, str) else f"[{key}]"
            node.add(label(name, child), data=child, allow_expand=isinstance(child, (dict, list)) and bool(child))
        if len(items) > MAX_CHILDREN:
            node.add_leaf(Text(f"… {len(items) - MAX_CHILDREN} more (see the raw tab)", "dim"))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        self._fill(event.node, event.node.data)
