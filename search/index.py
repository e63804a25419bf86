"""FAISS indexes: one per (collection, item kind, embedding space).

Vectors are L2-normalised, so inner product is cosine similarity. Each index
maps vectors to item ids (`IndexIDMap2`), so a result is joined with its
metadata by id. Saving writes a temporary file and renames it over the old
one, so a crash mid-write leaves the previous index intact and loadable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    """Item vectors of one kind in one embedding space, searchable by inner product."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        if path.exists():
            index = faiss.read_index(str(path))
            if index.d != dim:
                raise ValueError(f"{path} contains {index.d}-d vectors, but the encoder makes {dim}-d ones; "
                                 "delete the file to rebuild it")
            self._index = index
        else:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        if len(self) == 0:
            return set()
        return set(faiss.vector_to_array(self._index.id_map).tolist())

    def add(self, item_ids: list[int], vectors: np.ndarray) -> None:
        if len(item_ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(item_ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(item_ids)}, {self.dim}), got {vectors.shape}")
        faiss.normalize_L2(vectors)
        self._index.add_with_ids(vectors, np.asarray(item_ids, dtype=np.int64))

    def vector(self, item_id: int) -> np.ndarray:
        return self._index.reconstruct(int(item_id))

    def search(self, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        """Return up to `top_k` (item id, cosine) pairs, best first."""
        if len(self) == 0 or top_k <= 0:
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        faiss.normalize_L2(query)
        scores, ids = self._index.search(query, min(top_k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=self.path.name, suffix=".partial", dir=self.path.parent)
        os.close(handle)
        try:
            faiss.write_index(self._index, temporary)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
