"""The repository tree: repositories grouped by namespace, tag counts and marks, lazy."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dregtui.tui.session import Session
from dregtui.tui.text import clean


def namespace_of(repository: str) -> str:
    return repository.rsplit("/", 1)[0] if "/" in repository else ""


class RepoTree(Tree[str]):
    """Node data: the repository name for repositories, ``None`` for namespaces."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="repos.down"),
        Binding("k", "cursor_up", "Up", show=False, id="repos.up"),
        Binding("space", "toggle_mark", "Mark all", id="repos.mark"),
        Binding("right,l", "open", "Expand / open", show=False, id="repos.open"),
        Binding("left,h", "close", "Collapse / up", show=False, id="repos.close"),
    ]

    class MarksChanged(Message):
        pass

    def __init__(self, session: Session, **kwargs: object) -> None:
        super().__init__("repositories", **kwargs)  # type: ignore[arg-type]
        self.session = session
        self.show_root = False
        self.guide_depth = 2
        self._repo_nodes: dict[str, TreeNode[str]] = {}
        self._pending: dict[int, list[str]] = {}  # namespace node id -> repositories not yet added
        self._namespaces: dict[int, str] = {}  # namespace node id -> namespace

    # -- building -------------------------------------------------------------------

    def populate(self) -> None:
        """Rebuild from the session (filter applied), keeping expansion and the cursor."""
        names = self.session.visible_repositories()
        expanded = {self._namespaces[n.id] for n in self._namespace_nodes() if n.is_expanded}
        current = self.current_repository
        node_now = self.cursor_node
        current_ns = self._namespaces.get(node_now.id) if node_now is not None else None
        self.clear()
        self._repo_nodes.clear()
        self._pending.clear()
        self._namespaces.clear()
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(namespace_of(name), []).append(name)
        entries: list[tuple[str, str]] = [(name, "repo") for name in groups.pop("", [])]
        entries += [(ns, "ns") for ns in groups]
        for key, kind in sorted(entries):
            if kind == "repo":
                self._add_repository(self.root, key)
                continue
            node = self.root.add(self._namespace_label(key, groups[key]), data=None)
            node.allow_expand = True
            self._namespaces[node.id] = key
            self._pending[node.id] = groups[key]
            if key in expanded or self.session.repo_filter or current in groups[key]:
                self._load(node)
                node.expand()
        if current in self._repo_nodes:
            self._move_to(self._repo_nodes[current])
            return
        for node in self._namespace_nodes():
            if self._namespaces[node.id] == current_ns:
                self._move_to(node)
                return
        if self.root.children:
            self._move_to(self.root.children[0])

    def _namespace_nodes(self) -> list[TreeNode[str]]:
        return [n for n in self.root.children if n.data is None]

    def _add_repository(self, parent: TreeNode[str], name: str) -> None:
        node = parent.add_leaf(self._repo_label(name), data=name)
        self._repo_nodes[name] = node

    def _load(self, node: TreeNode[str]) -> None:
        for name in self._pending.pop(node.id, []):
            self._add_repository(node, name)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._load(event.node)

    def reveal(self, repository: str) -> None:
        """Expand the namespace holding ``repository`` and put the cursor on it."""
        if repository not in self._repo_nodes:
            for node in self._namespace_nodes():
                if repository in self._pending.get(node.id, []):
                    self._load(node)
                    node.expand()
        if repository in self._repo_nodes:
            self._move_to(self._repo_nodes[repository])

    def _move_to(self, node: TreeNode[str]) -> None:
        self._tree_lines  # noqa: B018 - builds the line index so node._line is known
        self.move_cursor(node)

    # -- labels ---------------------------------------------------------------------

    def _namespace_label(self, namespace: str, names: list[str]) -> Text:
        label = Text(clean(namespace) + "/", style="bold", no_wrap=True)
        label.append(f" {len(names)}", style="dim")
        marked = sum(self.session.marked_in(n) for n in names)
        if marked:
            label.append(f" ●{marked}", style="bold")
        return label

    def _repo_label(self, name: str) -> Text:
        short = name.rsplit("/", 1)[-1]
        label = Text(clean(short), no_wrap=True)
        inv = self.session.inventory
        if name in inv.scanned:
            label.append(f" {len(inv.repositories.get(name, {}))}", style="dim")
        else:
            label.append(" …", style="dim")
        marked = self.session.marked_in(name)
        if marked:
            label.append(f" ●{marked}", style="bold")
        return label

    def refresh_labels(self, repositories: list[str] | None = None) -> None:
        for name in repositories if repositories is not None else list(self._repo_nodes):
            node = self._repo_nodes.get(name)
            if node is not None:
                node.set_label(self._repo_label(name))
        names_by_ns: dict[str, list[str]] = {}
        for name in self.session.visible_repositories():
            names_by_ns.setdefault(namespace_of(name), []).append(name)
        for node in self._namespace_nodes():
            ns = self._namespaces.get(node.id, "")
            if ns in names_by_ns:
                node.set_label(self._namespace_label(ns, names_by_ns[ns]))

    # -- actions --------------------------------------------------------------------

    @property
    def current_repository(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def action_open(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.data is None:
            if not node.is_expanded:
                self._load(node)
                node.expand()
            elif node.children:
                self._move_to(node.children[0])
        else:
            self.action_select_cursor()

    def action_close(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.data is None and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self._move_to(node.parent)

    def action_toggle_mark(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.data is None:
            self._load(node)
            names = [c.data for c in node.children if c.data]
            keys = {(n, t) for n in names for t in self.session.inventory.repositories.get(n, {})}
            if keys and keys <= self.session.marks:
                self.session.marks -= keys
            else:
                self.session.marks |= keys
            self.refresh_labels(names)
        else:
            self.session.toggle_repository(node.data)
            self.refresh_labels([node.data])
        self.post_message(self.MarksChanged())
