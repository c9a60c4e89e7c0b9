"""Tags of one instance as a tree (sequences fold), narrowed by a search box.

The tree comes from :mod:`tui_pacs.store.tagtree` (the same formatter as
``tui-pacs dump``). Search keeps the elements whose line contains the text,
with the sequences and items above them, and unfolds them, so a match deep
in a sequence is shown with its context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

if TYPE_CHECKING:
    from tui_pacs.store.tagtree import TagNode, TagTree


def node_label(node: TagNode) -> str:
    """One element as ``(0010,0010) PN PatientName  Doe^Jane``; items as ``> Item 1``."""
    if node.kind == "item":
        return f"> {node.value}"
    return f"{node.tag_text} {node.vr or '??'} {node.keyword}  {node.value}"


def _matches(node: TagNode, needle: str) -> bool:
    return needle in node_label(node).lower() or any(_matches(child, needle) for child in node.children)


class TagView(Vertical):
    """Search box plus the tag tree."""

    DEFAULT_CSS = """
    TagView > Input { height: 1; border: none; padding: 0 1; }
    TagView > Tree { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+f", "search", "Search tags", id="tags.search")]

    def __init__(self, tree: TagTree | None = None, title: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tag_tree = tree
        self.title = title
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search tags (keyword, tag or value)", id="tag-search")
        tree: Tree[None] = Tree("tags", id="tag-tree")
        tree.show_root = False
        yield tree

    def on_mount(self) -> None:
        if self.tag_tree is not None:
            self.show(self.tag_tree, self.title)

    def show(self, tree: TagTree, title: str = "") -> None:
        """Show a new instance's tags (keeps the search text)."""
        from tui_pacs.store.tagtree import render_lines

        self.tag_tree, self.title = tree, title
        self.lines = ([f"# {title}"] if title else []) + render_lines(tree)
        self._build()

    def _build(self) -> None:
        widget: Tree[None] = self.query_one(Tree)
        widget.clear()
        tree = self.tag_tree
        if tree is None:
            return
        needle = self.query_one(Input).value.strip().lower()
        searching = bool(needle)
        if tree.meta:
            meta = widget.root.add("File meta information", expand=searching)
            self._add(meta, tree.meta, needle)
        heading = "Data set" + (f" ({tree.transfer_syntax})" if tree.transfer_syntax else "")
        self._add(widget.root.add(heading, expand=True), tree.dataset, needle)
        widget.root.expand()

    def _add(self, parent: TreeNode[None], nodes: tuple[TagNode, ...], needle: str) -> None:
        for node in nodes:
            if needle and not _matches(node, needle):
                continue
            if node.children:
                branch = parent.add(node_label(node), expand=bool(needle))
                self._add(branch, node.children, needle)
            else:
                parent.add_leaf(node_label(node))

    def visible_labels(self) -> list[str]:
        """The labels of every node in the tree now (for tests and copy)."""
        labels: list[str] = []

        def walk(node: TreeNode[None]) -> None:
            for child in node.children:
                labels.append(str(child.label))
                walk(child)

        walk(self.query_one(Tree).root)
        return labels

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._build()

    def action_search(self) -> None:
        self.query_one(Input).focus()
