"""Tests of the SQLite item store and the FAISS vector indexes: contents, reloads and crash-safe saves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import faiss
import numpy as np
import pytest

from search.index import VectorIndex
from search.store import MetadataStore, NewItem


def new_item(name: str, kind: str = "image", pair_key: str | None = None, **fields) -> NewItem:
    return NewItem(
        kind=kind,
        path=f"/pictures/{name}",
        caption=fields.get("caption"),
        transcript=fields.get("transcript"),
        labels=fields.get("labels", []),
        pair_key=pair_key,
        content_hash=f"hash-{name}",
    )


@pytest.fixture
def store(tmp_path: Path):
    store = MetadataStore(tmp_path / "data" / "saysee.sqlite3")
    yield store
    store.close()


def test_store_add_returns_ids_in_order(store: MetadataStore) -> None:
    ids = store.add("demo", [new_item("a.jpg"), new_item("b.jpg"), new_item("c.wav", kind="speech")])

    assert len(ids) == 3
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_store_get_round_trips_fields(store: MetadataStore) -> None:
    item = new_item("cat.jpg", caption="A cat.", labels=[["tabby", 0.81], ["lynx", 0.1]], pair_key="cat")
    [item_id] = store.add("demo", [item])

    found = store.get([item_id])[item_id]

    assert found.item_id == item_id
    assert found.collection == "demo"
    assert found.kind == "image"
    assert found.path == "/pictures/cat.jpg"
    assert found.stem == "cat"
    assert found.caption == "A cat."
    assert found.transcript is None
    assert found.labels == [["tabby", 0.81], ["lynx", 0.1]]
    assert found.pair_key == "cat"
    assert found.content_hash == "hash-cat.jpg"
    assert found.added_at.endswith("Z")


def test_store_get_unknown_and_empty(store: MetadataStore) -> None:
    [item_id] = store.add("demo", [new_item("a.jpg")])

    assert store.get([]) == {}
    assert store.get([item_id + 100]) == {}
    assert list(store.get([item_id, item_id + 100])) == [item_id]


def test_store_items_by_collection_and_kind(store: MetadataStore) -> None:
    store.add("demo", [new_item("a.jpg"), new_item("b.wav", kind="speech"), new_item("c.jpg")])
    store.add("other", [new_item("d.jpg")])

    assert [item.stem for item in store.items("demo")] == ["a", "b", "c"]
    assert [item.stem for item in store.items("demo", "image")] == ["a", "c"]
    assert [item.stem for item in store.items("demo", "speech")] == ["b"]
    assert [item.stem for item in store.items("other")] == ["d"]
    assert store.items("missing") == []


def test_store_counts_per_collection_and_kind(store: MetadataStore) -> None:
    store.add("demo", [new_item("a.jpg"), new_item("b.wav", kind="speech"), new_item("c.jpg")])
    store.add("pictures", [new_item("d.jpg")])

    assert store.counts() == {"demo": {"image": 2, "speech": 1}, "pictures": {"image": 1, "speech": 0}}


def test_store_counts_empty(store: MetadataStore) -> None:
    assert store.counts() == {}


def test_store_paired_groups_by_key(store: MetadataStore) -> None:
    store.add("demo", [
        new_item("cat.jpg", pair_key="cat"),
        new_item("cat_0.wav", kind="speech", pair_key="cat"),
        new_item("cat_1.wav", kind="speech", pair_key="cat"),
        new_item("dog_0.wav", kind="speech", pair_key="dog"),
        new_item("owl_0.wav", kind="speech", pair_key="owl"),
    ])
    store.add("other", [new_item("other_cat.wav", kind="speech", pair_key="cat")])

    grouped = store.paired("demo", "speech", ["cat", "dog", "fish"])

    assert sorted(grouped) == ["cat", "dog"]
    assert [item.stem for item in grouped["cat"]] == ["cat_0", "cat_1"]
    assert [item.stem for item in grouped["dog"]] == ["dog_0"]
    assert store.paired("demo", "speech", []) == {}
    assert [item.stem for item in store.paired("demo", "image", ["cat"])["cat"]] == ["cat"]


def test_store_known_hashes_per_collection(store: MetadataStore) -> None:
    store.add("demo", [new_item("a.jpg"), new_item("b.wav", kind="speech")])
    store.add("other", [new_item("c.jpg")])

    assert store.known_hashes("demo") == {"hash-a.jpg", "hash-b.wav"}
    assert store.known_hashes("other") == {"hash-c.jpg"}
    assert store.known_hashes("missing") == set()


def test_store_same_hash_in_two_collections(store: MetadataStore) -> None:
    store.add("demo", [new_item("a.jpg")])
    store.add("other", [new_item("a.jpg")])

    assert store.counts()["demo"]["image"] == 1
    assert store.counts()["other"]["image"] == 1


def test_store_duplicate_hash_rolls_back_batch(store: MetadataStore) -> None:
    store.add("demo", [new_item("a.jpg")])

    with pytest.raises(sqlite3.IntegrityError):
        store.add("demo", [new_item("b.jpg"), new_item("a.jpg")])

    assert [item.stem for item in store.items("demo")] == ["a"]


def test_store_rejects_unknown_kind(store: MetadataStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.add("demo", [new_item("a.mp4", kind="video")])

    assert store.items("demo") == []


def test_store_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "saysee.sqlite3"
    first = MetadataStore(path)
    [item_id] = first.add("demo", [new_item("a.jpg", caption="An apple.")])
    first.close()

    second = MetadataStore(path)
    try:
        assert second.get([item_id])[item_id].caption == "An apple."
        assert second.known_hashes("demo") == {"hash-a.jpg"}
    finally:
        second.close()


def unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_index_new_is_empty(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 8)

    assert len(index) == 0
    assert index.ids() == set()
    assert index.search(np.ones(8, dtype=np.float32), 5) == []


def test_index_add_and_ids(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 8)
    index.add([10, 20, 30], unit_rows(3, 8))

    assert len(index) == 3
    assert index.ids() == {10, 20, 30}


def test_index_add_empty_is_noop(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 8)
    index.add([], np.zeros((0, 8), dtype=np.float32))

    assert len(index) == 0


def test_index_add_rejects_wrong_shape(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 8)

    with pytest.raises(ValueError, match=r"expected vectors of shape \(2, 8\)"):
        index.add([1, 2], unit_rows(2, 7))
    with pytest.raises(ValueError, match=r"expected vectors of shape \(3, 8\)"):
        index.add([1, 2, 3], unit_rows(2, 8))
    assert len(index) == 0


def test_index_search_ranks_by_cosine(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 3)
    index.add([1, 2, 3], np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float32))

    found = index.search(np.array([2.0, 0.0, 0.0], dtype=np.float32), 3)

    assert [item_id for item_id, _ in found] == [1, 3, 2]
    assert found[0][1] == pytest.approx(1.0, abs=1e-6)
    assert found[1][1] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    assert found[2][1] == pytest.approx(0.0, abs=1e-6)


def test_index_search_caps_at_size(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 8)
    index.add([1, 2], unit_rows(2, 8))

    assert len(index.search(unit_rows(1, 8)[0], 10)) == 2
    assert len(index.search(unit_rows(1, 8)[0], 1)) == 1
    assert index.search(unit_rows(1, 8)[0], 0) == []


def test_index_add_normalises_vectors(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "image.text.faiss", 2)
    index.add([5], np.array([[3.0, 4.0]], dtype=np.float32))

    np.testing.assert_allclose(index.vector(5), [0.6, 0.8], atol=1e-6)


def test_index_save_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "collections" / "demo" / "image.text.faiss"
    vectors = unit_rows(4, 8)
    index = VectorIndex(path, 8)
    index.add([7, 8, 9, 11], vectors)
    index.save()

    reloaded = VectorIndex(path, 8)

    assert path.is_file()
    assert len(reloaded) == 4
    assert reloaded.ids() == {7, 8, 9, 11}
    np.testing.assert_allclose(reloaded.vector(9), vectors[2], atol=1e-6)
    assert reloaded.search(vectors[3], 1)[0][0] == 11


def test_index_reload_wrong_dim_raises(tmp_path: Path) -> None:
    path = tmp_path / "image.text.faiss"
    index = VectorIndex(path, 8)
    index.add([1], unit_rows(1, 8))
    index.save()

    with pytest.raises(ValueError, match="8-d vectors"):
        VectorIndex(path, 16)


def test_index_crash_during_save_keeps_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "image.text.faiss"
    index = VectorIndex(path, 8)
    index.add([1, 2], unit_rows(2, 8))
    index.save()
    old_bytes = path.read_bytes()

    def write_garbage_then_fail(_index, filename: str) -> None:
        Path(filename).write_bytes(b"half-written index")
        raise OSError("disk full")

    index.add([3], unit_rows(1, 8, seed=1))
    monkeypatch.setattr(faiss, "write_index", write_garbage_then_fail)
    with pytest.raises(OSError, match="disk full"):
        index.save()
    monkeypatch.undo()

    reloaded = VectorIndex(path, 8)
    assert path.read_bytes() == old_bytes
    assert reloaded.ids() == {1, 2}
    assert list(tmp_path.glob("*.partial")) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.text.faiss"]
