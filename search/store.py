"""Item metadata in SQLite: one row per item of every collection.

Vectors live in FAISS files (`search.index`); this store holds what a result
shows and what ingest needs to stay idempotent: the content hash of each
source file is unique within a collection, so ingesting a file twice adds it
once. SQLite commits are atomic, so a crash never leaves a half-written row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = ("image", "speech")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'speech')),
    path TEXT NOT NULL,
    caption TEXT,
    transcript TEXT,
    labels TEXT,
    pair_key TEXT,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL,
    UNIQUE (collection, content_hash)
);
CREATE INDEX IF NOT EXISTS items_by_collection ON items (collection, kind);
CREATE INDEX IF NOT EXISTS items_by_pair ON items (collection, pair_key);
"""


@dataclass(frozen=True)
class Item:
    """One indexed picture or spoken caption."""

    item_id: int
    collection: str
    kind: str
    path: str
    caption: str | None
    transcript: str | None
    labels: list[str]
    pair_key: str | None
    content_hash: str
    added_at: str

    @property
    def stem(self) -> str:
        return Path(self.path).stem


@dataclass(frozen=True)
class NewItem:
    """An item ready to be stored: its source, its text fields and its content hash."""

    kind: str
    path: str
    caption: str | None
    transcript: str | None
    labels: list[str]
    pair_key: str | None
    content_hash: str


def _row_to_item(row: sqlite3.Row) -> Item:
    return Item(
        item_id=row["item_id"],
        collection=row["collection"],
        kind=row["kind"],
        path=row["path"],
        caption=row["caption"],
        transcript=row["transcript"],
        labels=json.loads(row["labels"]) if row["labels"] else [],
        pair_key=row["pair_key"],
        content_hash=row["content_hash"],
        added_at=row["added_at"],
    )


class MetadataStore:
    """The SQLite database of items, shared by every collection in a data folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The bot reads from worker threads; each call opens no transaction of its own.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def known_hashes(self, collection: str) -> set[str]:
        rows = self._db.execute("SELECT content_hash FROM items WHERE collection = ?", (collection,))
        return {row[0] for row in rows}

    def add(self, collection: str, items: list[NewItem]) -> list[int]:
        """Insert items in one transaction and return their ids, in order."""
        added_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ids = []
        self._db.execute("BEGIN")
        try:
            for item in items:
                cursor = self._db.execute(
                    "INSERT INTO items (collection, kind, path, caption, transcript, labels, pair_key,"
                    " content_hash, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (collection, item.kind, item.path, item.caption, item.transcript,
                     json.dumps(item.labels), item.pair_key, item.content_hash, added_at),
                )
                ids.append(int(cursor.lastrowid))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return ids

    def set_transcripts(self, transcripts: dict[int, str]) -> None:
        """Store transcripts of spoken captions; "" records that no speech was heard."""
        self._db.execute("BEGIN")
        try:
            self._db.executemany("UPDATE items SET transcript = ? WHERE item_id = ?",
                                 [(text, item_id) for item_id, text in transcripts.items()])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def get(self, item_ids: list[int]) -> dict[int, Item]:
        if not item_ids:
            return {}
        marks = ",".join("?" * len(item_ids))
        rows = self._db.execute(f"SELECT * FROM items WHERE item_id IN ({marks})", list(item_ids))
        return {row["item_id"]: _row_to_item(row) for row in rows}

    def items(self, collection: str, kind: str | None = None) -> list[Item]:
        if kind is None:
            rows = self._db.execute("SELECT * FROM items WHERE collection = ? ORDER BY item_id", (collection,))
        else:
            rows = self._db.execute(
                "SELECT * FROM items WHERE collection = ? AND kind = ? ORDER BY item_id", (collection, kind)
            )
        return [_row_to_item(row) for row in rows]

    def paired(self, collection: str, kind: str, pair_keys: list[str]) -> dict[str, list[Item]]:
        """Items of `kind` that share a pair key with the given ones, grouped by key."""
        if not pair_keys:
            return {}
        marks = ",".join("?" * len(pair_keys))
        rows = self._db.execute(
            f"SELECT * FROM items WHERE collection = ? AND kind = ? AND pair_key IN ({marks}) ORDER BY item_id",
            [collection, kind, *pair_keys],
        )
        grouped: dict[str, list[Item]] = {}
        for row in rows:
            grouped.setdefault(row["pair_key"], []).append(_row_to_item(row))
        return grouped

    def counts(self) -> dict[str, dict[str, int]]:
        rows = self._db.execute("SELECT collection, kind, COUNT(*) FROM items GROUP BY collection, kind")
        counts: dict[str, dict[str, int]] = {}
        for collection, kind, count in rows:
            counts.setdefault(collection, {k: 0 for k in KINDS})[kind] = count
        return counts
