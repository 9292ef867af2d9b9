"""Branches: a conversation's message tree, its active path, and switching between alternative messages.

Regenerating or editing a message adds a sibling; the conversation's ``leaf_id`` says which branch is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.store.connection import StoreConnection, locked
from app.store.messages import read_messages
from app.store.models import Message, NotFound
from app.store.rows import placed


class BranchesMixin(StoreConnection):
    """The ``Store``'s methods for the message tree."""

    @locked
    def path(self, conversation_id: int) -> list[Message]:
        """The active branch, first message to leaf, each with its place among its siblings."""
        leaf = self._db.execute("SELECT leaf_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if leaf is None:
            raise NotFound("That conversation no longer exists.")
        tree = self._tree(conversation_id)
        leaf_id = leaf[0] if leaf[0] in tree.parent else tree.latest_leaf(None)
        return self._branch(tree, leaf_id)

    @locked
    def switch_sibling(self, message_id: int, direction: int) -> list[Message]:
        """Show the previous (-1) or next (+1) alternative of a message, continuing down its most recent branch.

        At the first or last alternative the path is returned unchanged.
        """
        row = self._db.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound("That message no longer exists.")
        tree = self._tree(row[0])
        siblings = tree.siblings(message_id)
        index = siblings.index(message_id) + direction
        if 0 <= index < len(siblings) and direction:
            leaf_id = tree.latest_leaf(siblings[index])
            with self._write() as db:
                db.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (leaf_id, row[0]))
        return self.path(row[0])

    @locked
    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of every branch, oldest first."""
        tree = self._tree(conversation_id)
        out = []
        for message in read_messages(self._db, list(tree.parent)):
            siblings = tree.siblings(message.id)
            out.append(placed(message, siblings.index(message.id) + 1, len(siblings)))
        return out

    def _tree(self, conversation_id: int) -> Tree:
        rows = self._db.execute(
            "SELECT id, parent_id, role, updated_at FROM messages WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return Tree(rows)

    def _branch(self, tree: Tree, leaf_id: int | None) -> list[Message]:
        ids = tree.ancestry(leaf_id)
        by_id = {m.id: m for m in read_messages(self._db, ids)}
        branch = []
        for message_id in ids:
            siblings = tree.siblings(message_id)
            branch.append(
                placed(by_id[message_id], siblings.index(message_id) + 1, len(siblings)),
            )
        return branch


class Tree:
    """A conversation's message tree from ``(id, parent_id, role, updated_at)`` rows in id order."""

    def __init__(self, rows: Sequence[tuple[int, int | None, str, float]]) -> None:
        self.parent: dict[int, int | None] = {}
        self.children: dict[int | None, list[int]] = {}
        self._role: dict[int, str] = {}
        self._activity: dict[int, float] = {}  # the latest update anywhere beneath (and at) a message
        for message_id, parent_id, role, updated_at in rows:
            self.parent[message_id] = parent_id
            self.children.setdefault(parent_id, []).append(message_id)
            self._role[message_id] = role
            self._activity[message_id] = updated_at
        for message_id in reversed(self.parent):  # a child's id is always above its parent's
            parent_id = self.parent[message_id]
            if parent_id is not None and parent_id in self._activity:
                self._activity[parent_id] = max(self._activity[parent_id], self._activity[message_id])

    def siblings(self, message_id: int) -> list[int]:
        """The message and its alternatives (same parent, same role), oldest first."""
        role = self._role[message_id]
        return [m for m in self.children[self.parent[message_id]] if self._role[m] == role]

    def latest_leaf(self, start: int | None) -> int | None:
        """Go down from ``start`` (None: the roots), always into the child with the most recent activity."""
        node = start
        while kids := self.children.get(node):
            node = max(kids, key=lambda k: (self._activity[k], k))
        return node

    def ancestry(self, leaf_id: int | None) -> list[int]:
        """Ids from the first message down to ``leaf_id``."""
        chain: list[int] = []
        node = leaf_id
        while node is not None:
            chain.append(node)
            node = self.parent.get(node)
        return chain[::-1]
