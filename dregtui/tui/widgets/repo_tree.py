"""The repository tree: repositories grouped by namespace, tag counts and marks, lazy."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dregtui.core.space import human_size
from dregtui.core.textsafe import clean
from dregtui.tui.session import Session

UNTAGGED = "\0untagged\0"  # node data of a repository's untagged node: this + the repository


def untagged_of(data: str | None) -> str | None:
    """The repository of an "untagged" node's data, else None."""
    return data[len(UNTAGGED) :] if data and data.startswith(UNTAGGED) else None


def namespace_of(repository: str) -> str:
    return repository.rsplit("/", 1)[0] if "/" in repository else ""


def ancestors(namespace: str) -> list[str]:
    """``team/tools`` -> ``["team", "team/tools"]`` (outermost first); ``""`` -> ``[]``."""
    if not namespace:
        return []
    parts = namespace.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


class Namespaces:
    """Repository names grouped into nested namespaces (``team/tools/lint`` is in
    ``team/tools``, which is in ``team``)."""

    def __init__(self, names: list[str]) -> None:
        self.repositories: dict[str, list[str]] = {"": []}  # namespace -> its own repositories
        self.children: dict[str, list[str]] = {"": []}  # namespace -> namespaces right below
        self.below: dict[str, list[str]] = {"": list(names)}  # namespace -> every repo below
        for name in names:
            parent = ""
            for ns in ancestors(namespace_of(name)):
                if ns not in self.children:
                    self.children[ns] = []
                    self.repositories[ns] = []
                    self.below[ns] = []
                    self.children[parent].append(ns)
                self.below[ns].append(name)
                parent = ns
            self.repositories[parent].append(name)

    def entries(self, namespace: str) -> list[tuple[str, bool]]:
        """(name, is_namespace) right below ``namespace``, sorted by name."""
        out = [(n, True) for n in self.children[namespace]]
        out += [(n, False) for n in self.repositories[namespace]]
        return sorted(out)


class RepoTree(Tree[str]):
    """Node data: the repository name for repositories, ``None`` for namespaces."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="repos.down"),
        Binding("k", "cursor_up", "Up", show=False, id="repos.up"),
        Binding(
            "space",
            "toggle_mark",
            "Mark all",
            tooltip=(
                "Mark / unmark the tags the filter shows (all without one) in the repository "
                "or namespace"
            ),
            id="repos.mark",
        ),
        Binding("right,l", "open", "Expand / open", show=False, id="repos.open"),
        Binding("enter", "select_cursor", "Open", show=False, id="repos.select"),
        Binding("left,h", "close", "Collapse / up", show=False, id="repos.close"),
    ]

    class MarksChanged(Message):
        pass

    class UntaggedChosen(Message):
        """The cursor is on a repository's "untagged" node (``opened``: enter was pressed)."""

        def __init__(self, repository: str, opened: bool) -> None:
            super().__init__()
            self.repository = repository
            self.opened = opened

    def __init__(self, session: Session, **kwargs: object) -> None:
        super().__init__("repositories", **kwargs)  # type: ignore[arg-type]
        self.session = session
        self.show_root = False
        self.guide_depth = 2
        self._groups = Namespaces([])
        self.catalog_pending = False  # the catalog is on its way (says so when the tree is empty)
        self._repo_nodes: dict[str, TreeNode[str]] = {}
        self._ns_nodes: dict[str, TreeNode[str]] = {}  # namespace -> its node
        self._namespaces: dict[int, str] = {}  # namespace node id -> namespace
        self._pending: set[int] = set()  # namespace node ids whose children are not built yet
        self._open_repos: set[str] = set()  # repositories whose "untagged" node was shown
        self.by_size = False  # largest first (repositories and namespaces), else by name

    # -- building -------------------------------------------------------------------

    def populate(self) -> None:
        """Rebuild from the session (filter applied), keeping expansion and the cursor."""
        names = self.session.visible_repositories()
        expanded = {ns for ns, node in self._ns_nodes.items() if node.is_expanded}
        self._open_repos = {n for n, node in self._repo_nodes.items() if node.is_expanded}
        current = self.current_repository
        node_now = self.cursor_node
        current_ns = self._namespaces.get(node_now.id) if node_now is not None else None
        self.clear()
        self._repo_nodes.clear()
        self._ns_nodes.clear()
        self._namespaces.clear()
        self._pending.clear()
        self._groups = Namespaces(names)
        if not names:
            self.root.add_leaf(Text(self._empty_note(), style="dim italic"), data="")
        open_too = set(ancestors(namespace_of(current))) if current in names else set()
        self._add_entries(self.root, "", expanded | open_too)
        if names and self.session.storage.note:  # never a zero: nothing is known
            self.root.add_leaf(Text(self.session.storage.note, style="dim italic"), data="")
        on_untagged = node_now is not None and untagged_of(node_now.data) is not None
        if current in self._repo_nodes:
            node = self._repo_nodes[current]
            stay = on_untagged and node.children and node.is_expanded
            self._move_to(node.children[0] if stay else node)  # on its "untagged" node still
        elif current_ns in self._ns_nodes:
            self._move_to(self._ns_nodes[current_ns])
        elif self.root.children:
            self._move_to(self.root.children[0])

    def _empty_note(self) -> str:
        if self.session.repo_filter:
            return "no repository matches (esc clears the filter)"
        if self.catalog_pending:
            return "loading the catalog…"
        return "no repositories (R rescans)"

    def _add_entries(self, parent: TreeNode[str], namespace: str, expand: set[str]) -> None:
        marks = self._mark_counts()
        for name, is_namespace in self._ordered(self._groups.entries(namespace)):
            if not is_namespace:
                untagged = self.session.storage.untagged.get(name)
                if untagged is not None and untagged.manifests:
                    node = parent.add(self._repo_label(name, marks), data=name)
                    node.add_leaf(self._untagged_label(name), data=UNTAGGED + name)
                    if name in self._open_repos:
                        node.expand()
                else:
                    node = parent.add_leaf(self._repo_label(name, marks), data=name)
                self._repo_nodes[name] = node
                continue
            node = parent.add(self._namespace_label(name, marks), data=None)
            node.allow_expand = True
            self._ns_nodes[name] = node
            self._namespaces[node.id] = name
            self._pending.add(node.id)
            if name in expand or self.session.repo_filter:
                self._load(node, expand)
                node.expand()

    def _ordered(self, entries: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        sizes = self.session.sizes
        if not (self.by_size and sizes):
            return entries

        def size(entry: tuple[str, bool]) -> int:  # as the labels say it: untagged included
            name, is_namespace = entry
            below = self._groups.below.get(name, []) if is_namespace else [name]
            return sizes.get(name + "/" if is_namespace else name, 0) + self._untagged_size(below)

        return sorted(entries, key=lambda e: (-size(e), e[0]))

    def _load(self, node: TreeNode[str], expand: set[str] | None = None) -> None:
        if node.id in self._pending:
            self._pending.discard(node.id)
            self._add_entries(node, self._namespaces[node.id], expand or set())

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._load(event.node)

    def reveal(self, repository: str) -> None:
        """Expand the namespaces holding ``repository`` and put the cursor on it."""
        for ns in ancestors(namespace_of(repository)):
            node = self._ns_nodes.get(ns)
            if node is None:
                break
            self._load(node)
            node.expand()
        if repository in self._repo_nodes:
            self._move_to(self._repo_nodes[repository])

    def _move_to(self, node: TreeNode[str]) -> None:
        self._tree_lines  # noqa: B018 - builds the line index so node._line is known
        self.move_cursor(node)

    # -- labels ---------------------------------------------------------------------

    def _mark_counts(self) -> Counter[str]:
        return self.session.mark_counts()

    def _namespace_label(self, namespace: str, marks: Counter[str]) -> Text:
        """The last part of the name, the repositories below it (all levels), their marks."""
        short = namespace.rsplit("/", 1)[-1]
        below = self._groups.below.get(namespace, [])
        label = Text(clean(short) + "/", style="bold", no_wrap=True)
        label.append(f" {len(below)}", style="dim")
        size = self.session.sizes.get(namespace + "/")
        if size is not None and below:
            size += self._untagged_size(below)
            label.append(f" {human_size(size)}", style="dim")
        marked = sum(marks[n] for n in below)
        if marked:
            label.append(f" ●{marked}", style="bold")
        return label

    def _repo_label(self, name: str, marks: Counter[str] | None = None) -> Text:
        short = name.rsplit("/", 1)[-1]
        label = Text(clean(short), no_wrap=True)
        inv = self.session.inventory
        if name in inv.scanned:
            label.append(f" {len(inv.repositories.get(name, {}))}", style="dim")
            size = self.session.sizes.get(name)
            if size is not None:
                size += self._untagged_size([name])
                label.append(f" {human_size(size)}", style="dim")
        else:
            label.append(" …", style="dim")
        marked = marks[name] if marks is not None else self.session.marked_in(name)
        if marked:
            label.append(f" ●{marked}", style="bold")
        return label

    def _untagged_size(self, repositories: list[str]) -> int:
        """Bytes only the repositories' untagged manifests hold (0 without the storage)."""
        untagged = self.session.storage.untagged
        return sum(untagged[n].size for n in repositories if n in untagged)

    def _untagged_label(self, repository: str) -> Text:
        found = self.session.storage.untagged[repository]
        label = Text("untagged", style="italic", no_wrap=True)
        label.append(f" {len(found.manifests)} {human_size(found.size)}", style="dim")
        marked = self.session.storage.marked_in(repository)
        if marked:
            label.append(f" ●{marked}", style="bold")
        return label

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        repository = untagged_of(event.node.data)
        if repository is not None:  # the screen hears of it as this, not as a repository
            event.stop()
            self.post_message(self.UntaggedChosen(repository, opened=False))

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        repository = untagged_of(event.node.data)
        if repository is not None:
            event.stop()
            self.post_message(self.UntaggedChosen(repository, opened=True))

    def refresh_labels(self, repositories: list[str] | None = None) -> None:
        """Relabel these repositories (default: all) and every namespace (marks, counts)."""
        marks = self._mark_counts()  # once: per label it would be O(marks) each
        for name in repositories if repositories is not None else list(self._repo_nodes):
            node = self._repo_nodes.get(name)
            if node is not None:
                node.set_label(self._repo_label(name, marks))
                for child in node.children:  # its "untagged" node
                    child.set_label(self._untagged_label(name))
        for ns, node in self._ns_nodes.items():
            node.set_label(self._namespace_label(ns, marks))

    # -- actions --------------------------------------------------------------------

    @property
    def current_repository(self) -> str | None:
        node = self.cursor_node
        if node is None:
            return None
        return untagged_of(node.data) or node.data

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
        if untagged_of(node.data) is not None:
            self.notify("Mark untagged manifests in their list (enter opens it).")
            return
        if node.data is None:
            if node.id not in self._namespaces:
                return  # a line of its own ("untagged: unknown"): nothing to mark
            namespace = self._namespaces[node.id]
            names, where = self._groups.below.get(namespace, []), namespace + "/"
        else:
            names, where = [node.data], node.data
        try:  # the tag filter chooses, as in the tags pane
            done = self.session.toggle_repositories(names)
        except ValueError as exc:
            self.notify(f"{clean(exc)} Nothing marked.", severity="error", markup=False)
            return
        self.refresh_labels(names)
        self.notify(done.sentence(where, group=node.data is None), markup=False)
        self.post_message(self.MarksChanged())
