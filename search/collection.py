"""A collection on disk: its metadata rows and one FAISS index per (kind, space).

Layout under the data folder:
    saysee.sqlite3                          item metadata of every collection
    collections/<name>/<kind>.<space>.faiss one index per item kind and embedding space
    collections/<name>/spaces.json          which encoder made each space's vectors

An index whose vectors came from another encoder (another sentence model,
other seed weights) is dropped and rebuilt from the items' files, because
vectors of two encoders are not comparable.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from search.index import VectorIndex
from search.models import ModelSet
from search.errors import SearchError, UnknownCollectionError
from search.spaces import encode_items, space_dim, space_signature, transcribe_file
from search.store import Item, MetadataStore

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

ENCODE_CHUNK = 64


def check_collection_name(name: str) -> str:
    if not _NAME.match(name):
        raise UnknownCollectionError(
            f"Invalid collection name {name!r}: use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


class Collection:
    """One collection's items and indexes."""

    def __init__(self, data_dir: Path, name: str, store: MetadataStore, models: ModelSet) -> None:
        self.name = check_collection_name(name)
        self.folder = data_dir / "collections" / name
        self.store = store
        self.models = models
        self._indexes: dict[tuple[str, str], VectorIndex] = {}

    def index(self, kind: str, space: str) -> VectorIndex:
        key = (kind, space)
        if key not in self._indexes:
            path = self.folder / f"{kind}.{space}.faiss"
            self._indexes[key] = VectorIndex(path, space_dim(self.models, space))
        return self._indexes[key]

    def counts(self) -> dict[str, int]:
        return self.store.counts().get(self.name, {"image": 0, "speech": 0})

    def is_empty(self) -> bool:
        return sum(self.counts().values()) == 0

    def add_vectors(self, kind: str, space: str, item_ids: list[int], vectors: np.ndarray) -> None:
        index = self.index(kind, space)
        index.add(item_ids, vectors)
        index.save()

    def _check_signatures(self, needed: list[tuple[str, str]]) -> None:
        path = self.folder / "spaces.json"
        recorded = json.loads(path.read_text()) if path.is_file() else {}
        changed = False
        for kind, space in needed:
            key = f"{kind}.{space}"
            signature = space_signature(self.models, space)
            if recorded.get(key) == signature:
                continue
            index_path = self.folder / f"{key}.faiss"
            # An index with no record was written moments ago by ingest, with the models loaded now.
            if key in recorded and index_path.exists():
                logger.warning("the %s index of %s was made by %s, not %s: rebuilding it",
                               key, self.name, recorded[key], signature)
                index_path.unlink()
                self._indexes.pop((kind, space), None)
            recorded[key] = signature
            changed = True
        if changed:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".json.partial")
            partial.write_text(json.dumps(recorded, indent=1, sort_keys=True))
            os.replace(partial, path)

    def ensure_vectors(self, needed: list[tuple[str, str]], progress: bool = True) -> list[tuple[str, str]]:
        """Encode every item that lacks a vector in a needed (kind, space); return the failures."""
        self._check_signatures(needed)
        failures: list[tuple[str, str]] = []
        for kind, space in needed:
            index = self.index(kind, space)
            present = index.ids()
            missing = [item for item in self.store.items(self.name, kind) if item.item_id not in present]
            if not missing:
                continue
            logger.info("encoding %d %s items of %s into the %s space", len(missing), kind, self.name, space)
            failures.extend(self._encode_missing(kind, space, missing, progress))
        return failures

    def _transcribe_missing(self, items: list[Item]) -> tuple[list[Item], list[tuple[str, str]]]:
        """Transcribe spoken captions that were ingested without a transcript (by the seed engine)."""
        transcripts, failures = {}, []
        for item in items:
            if item.kind != "speech" or item.transcript is not None:
                continue
            try:
                transcripts[item.item_id] = transcribe_file(self.models, item.path)
            except SearchError as error:
                failures.append((item.path, str(error)))
        if transcripts:
            self.store.set_transcripts(transcripts)
            items = [replace(item, transcript=transcripts.get(item.item_id, item.transcript)) for item in items]
        return items, failures

    def _encode_missing(self, kind: str, space: str, items: list[Item], progress: bool) -> list[tuple[str, str]]:
        failures = []
        if space == "text":
            items, failures = self._transcribe_missing(items)
        bar = tqdm(total=len(items), desc=f"{kind} → {space}", unit="item", disable=not progress)
        for start in range(0, len(items), ENCODE_CHUNK):
            chunk = items[start:start + ENCODE_CHUNK]
            encoded = encode_items(self.models, space, kind, chunk)
            self.add_vectors(kind, space, encoded.item_ids, encoded.matrix(space_dim(self.models, space)))
            failures.extend(encoded.failures)
            bar.update(len(chunk))
        bar.close()
        return failures
