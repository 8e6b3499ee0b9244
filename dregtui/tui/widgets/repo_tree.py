"""The repository tree: repositories grouped by namespace, tag counts and marks, lazy.

A label is drawn to the tree's width: the name shrinks (an ellipsis), never the figures or the
marks; the figures say what they count (``2 repos``, ``7 tags``) where the width allows, and the
pane's subtitle says it where it does not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.style import Style
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


TOGGLE = Style.from_meta({"toggle": True})  # a click on the fold icon folds (as Textual's own)
LEGEND = "repos/tags · size"  # the subtitle: what the figures count (a namespace's, a repo's)
NAME_MIN = 3  # characters of a name kept (then "…") before the count's unit goes


@dataclass(frozen=True)
class LabelParts:
    """A namespace's or repository's label in pieces, so it can be fitted to the width."""

    name: Text  # "library/" or "nginx"
    count: str  # "2" (repositories below a namespace) or "7" (tags), "" when unknown
    unit: str  # "repos" or "tags" (said when the width allows)
    rest: Text  # " 31.5 KiB ●2" or " …"

    def text(self, *, units: bool = False) -> Text:
        label = self.name.copy()
        if self.count:
            label.append(
                f" {self.count} {self.said_unit}" if units else f" {self.count}", style="dim"
            )
        label.append_text(self.rest)
        return label

    @property
    def said_unit(self) -> str:
        """``1 repo``, ``1 tag``: the unit agrees with its count."""
        return self.unit[:-1] if self.count == "1" else self.unit

    def full_width(self) -> int:
        """The cells of ``text(units=True)``, without building it (asked of every label)."""
        count = len(self.count) + len(self.said_unit) + 2 if self.count else 0
        return self.name.cell_len + count + self.rest.cell_len

    def fitted(self, width: int, *, units: bool = True) -> Text:
        """The label in ``width`` cells: with ``units`` when they fit; else the name shrinks
        (to ``NAME_MIN`` characters, then the count goes, then the name shrinks to one)."""
        full = self.text(units=True)
        if units and full.cell_len <= width:
            return full
        bare = self.text()
        if bare.cell_len <= width:
            return bare
        counted = self._shrunk(bare, width, NAME_MIN)
        if counted.cell_len <= width:
            return counted
        figures = LabelParts(self.name, "", self.unit, self.rest).text()
        return self._shrunk(figures, width, 1)

    def _shrunk(self, label: Text, width: int, least: int) -> Text:
        name = self.name.plain
        slash = "/" if name.endswith("/") else ""
        over = label.cell_len - width
        keep = max(least, len(name) - len(slash) - over - 1)
        if keep >= len(name) - len(slash):
            return label
        short = Text(name[:keep] + "…" + slash, style=self.name.style, no_wrap=True)
        return short + label[len(name) :]


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
        self._parts: dict[int, LabelParts] = {}  # node id -> its label in pieces (drawn early)
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
        self._all_below: dict[str, int] = {}  # namespace -> its repositories, filter or not
        # the namespaces unfolded and the repository under the cursor before a filter
        self._before_filter: tuple[set[str], str | None] | None = None
        self._units = False  # the labels say "repos" and "tags" (all fit with them)
        self._units_pending = False  # a choice is on its way (after the next refresh)
        self._shown_sizes: dict[tuple[int, str, int], int] = {}  # a filtered namespace's size

    def on_mount(self) -> None:
        self.border_subtitle = LEGEND

    # -- building -------------------------------------------------------------------

    def populate(self) -> None:
        """Rebuild from the session (filter applied), keeping expansion and the cursor."""
        names = self.session.visible_repositories()
        expanded = {ns for ns, node in self._ns_nodes.items() if node.is_expanded}
        self._open_repos = {n for n, node in self._repo_nodes.items() if node.is_expanded}
        current = self.current_repository
        node_now = self.cursor_node
        current_ns = self._namespaces.get(node_now.id) if node_now is not None else None
        if self.session.repo_filter and self._before_filter is None:
            self._before_filter = (expanded, current)  # the user's unfolding, as the filter came
        elif not self.session.repo_filter and self._before_filter is not None:
            expanded, before = self._before_filter  # the filter went: the unfolding comes back
            current = current or before
            self._before_filter = None
        self.clear()
        self._repo_nodes.clear()
        self._ns_nodes.clear()
        self._namespaces.clear()
        self._pending.clear()
        self._parts.clear()
        self._groups = Namespaces(names)
        if self.session.repo_filter:
            everything = Namespaces(self.session.inventory.repository_names()).below
            self._all_below = {ns: len(repos) for ns, repos in everything.items()}
        else:
            self._all_below = {}
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
        self._choose_units()

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
                parts = self._repo_parts(name, marks)
                if untagged is not None and untagged.manifests:
                    node = parent.add(parts.text(), data=name)
                    leaf_parts = self._untagged_parts(name)
                    leaf = node.add_leaf(leaf_parts.text(), data=UNTAGGED + name)
                    self._parts[leaf.id] = leaf_parts
                    if name in self._open_repos:
                        node.expand()
                else:
                    node = parent.add_leaf(parts.text(), data=name)
                self._repo_nodes[name] = node
                self._parts[node.id] = parts
                continue
            parts = self._namespace_parts(name, marks)
            node = parent.add(parts.text(), data=None)
            self._parts[node.id] = parts
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
            self._units_later()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._load(event.node)

    def first_repository(self) -> str | None:
        """The first repository in the tree's order (into the first namespace, and so on)."""
        namespace = ""
        while True:
            entries = self._ordered(self._groups.entries(namespace))
            if not entries:
                return None
            name, is_namespace = entries[0]
            if not is_namespace:
                return name
            namespace = name

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
        return self._namespace_parts(namespace, marks).text()

    def _namespace_parts(self, namespace: str, marks: Counter[str]) -> LabelParts:
        """The last part of the name, the repositories below it (all levels), their size and
        marks. Under a repository filter the figures are those of the repositories shown."""
        short = namespace.rsplit("/", 1)[-1]
        below = self._groups.below.get(namespace, [])
        name = Text(clean(short) + "/", style="bold", no_wrap=True)
        rest = Text(no_wrap=True)
        size = self._namespace_size(namespace, below)
        if size is not None and below:
            size += self._untagged_size(below)
            rest.append(f" {human_size(size)}", style="dim")
        marked = sum(marks[n] for n in below)
        if marked:
            rest.append(f" ●{marked:,}", style="bold")
        return LabelParts(name, str(len(below)), "repos", rest)

    def _namespace_size(self, namespace: str, below: list[str]) -> int | None:
        """The namespace's size, or under a filter that hides some of its repositories the
        size of those shown (shared blobs once; worked out once per filter)."""
        full = self.session.sizes.get(namespace + "/")
        space = self.session.space
        if full is None or len(below) >= self._all_below.get(namespace, 0) or space is None:
            return full
        key = (id(space), namespace, hash(tuple(below)))
        if key not in self._shown_sizes:
            self._shown_sizes = {k: v for k, v in self._shown_sizes.items() if k[0] == id(space)}
            self._shown_sizes[key] = space.combined(below).size
        return self._shown_sizes[key]

    def _repo_label(self, name: str, marks: Counter[str] | None = None) -> Text:
        return self._repo_parts(name, marks).text()

    def _repo_parts(self, name: str, marks: Counter[str] | None = None) -> LabelParts:
        short = name.rsplit("/", 1)[-1]
        inv = self.session.inventory
        count = ""
        rest = Text(no_wrap=True)
        if name in inv.scanned:
            count = f"{len(inv.repositories.get(name, {})):,}"
            size = self.session.sizes.get(name)
            if size is not None:
                size += self._untagged_size([name])
                rest.append(f" {human_size(size)}", style="dim")
        else:
            rest.append(" …", style="dim")
        marked = marks[name] if marks is not None else self.session.marked_in(name)
        if marked:
            rest.append(f" ●{marked:,}", style="bold")
        return LabelParts(Text(clean(short), no_wrap=True), count, "tags", rest)

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        """A namespace's or repository's label fitted to the width left after the guides
        and the fold icon: the name shrinks, the figures and the marks stay."""
        parts = self._parts.get(node.id)
        if parts is None:
            return super().render_label(node, base_style, style)
        label = parts.fitted(self._label_width(node), units=self._units)
        label.stylize(style)
        if node.allow_expand:
            icon_text = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon_text, base_style + TOGGLE), label)
        return label

    def _label_width(self, node: TreeNode[str]) -> int:
        """The cells a node's label has: the width less the guides and the fold icon."""
        depth, parent = 0, node.parent
        while parent is not None and parent is not self.root:
            depth, parent = depth + 1, parent.parent
        icon = len(self.ICON_NODE) if node.allow_expand else 0
        return max(self.scrollable_content_region.width - depth * self.guide_depth - icon, 1)

    def _choose_units(self) -> None:
        """Units (``2 repos``, ``7 tags``) on every label when all fit, else on none (the
        subtitle says what the numbers count): one line with them and the next without
        would read as two kinds of figure."""
        self._units_pending = False
        nodes = [*self._ns_nodes.values(), *self._repo_nodes.values()]
        width = self.scrollable_content_region.width
        units = width > 0 and all(
            self._parts[n.id].full_width() <= self._label_width(n)
            for n in nodes
            if n.id in self._parts
        )
        self.border_subtitle = "" if units else LEGEND  # the labels say it themselves
        if units != self._units:
            self._units = units
            for node in nodes:
                node.set_label(node.label)  # drawn again, with or without

    def _units_later(self) -> None:
        """Choose once the current batch of nodes is in (not once per namespace loaded)."""
        if not self._units_pending:
            self._units_pending = True
            self.call_after_refresh(self._choose_units)

    def on_resize(self) -> None:
        self._choose_units()

    def _untagged_size(self, repositories: list[str]) -> int:
        """Bytes only the repositories' untagged manifests hold (0 without the storage)."""
        untagged = self.session.storage.untagged
        return sum(untagged[n].size for n in repositories if n in untagged)

    def _untagged_parts(self, repository: str) -> LabelParts:
        """A repository's "untagged" node: how many manifests, what they alone hold, marks;
        fitted like the others."""
        found = self.session.storage.untagged[repository]
        rest = Text(f" {human_size(found.size)}", style="dim", no_wrap=True)
        marked = self.session.storage.marked_in(repository)
        if marked:
            rest.append(f" ●{marked:,}", style="bold")
        name = Text("untagged", style="italic", no_wrap=True)
        return LabelParts(name, f"{len(found.manifests):,}", "manifests", rest)

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
                parts = self._parts[node.id] = self._repo_parts(name, marks)
                node.set_label(parts.text())
                for child in node.children:  # its "untagged" node
                    child_parts = self._parts[child.id] = self._untagged_parts(name)
                    child.set_label(child_parts.text())
        for ns, node in self._ns_nodes.items():
            parts = self._parts[node.id] = self._namespace_parts(ns, marks)
            node.set_label(parts.text())
        self._choose_units()

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
