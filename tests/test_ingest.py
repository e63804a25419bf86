"""Tests of ingest into a temporary collection: counts, skipped files, duplicates, stored text and crash recovery."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search.collection import Collection
from search.engines.cascade import CascadeEngine
from search.engines.seed import SeedEngine
from search.errors import UnknownCollectionError
from search.index import VectorIndex
from search.ingest import IngestReport, content_hash, ingest
from search.layouts import Source, folder_sources
from search.spaces import space_dim
from search.store import MetadataStore

pytestmark = pytest.mark.slow



def make_source_folder(sample_media: Path, folder: Path) -> Path:
    """Copy the sample pictures and spoken caption, and add a truncated JPEG and an empty WAV."""
    shutil.copytree(sample_media, folder)
    whole = (sample_media / "blue_square.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "silent_nothing.wav").write_bytes(b"")
    return folder


def open_collection(data_dir: Path, models, name: str = "shapes") -> Collection:
    store = MetadataStore(data_dir / "saysee.sqlite3")
    return Collection(data_dir, name, store, models)


@pytest.fixture(scope="module")
def needed(models) -> list[tuple[str, str]]:
    return CascadeEngine(models).needed()


@pytest.fixture(scope="module")
def ingested(sample_media: Path, models, needed, tmp_path_factory: pytest.TempPathFactory):
    """Ingest the source folder once into a fresh data folder.

    Yields (data folder, source folder, collection, report).
    """
    base = tmp_path_factory.mktemp("ingest")
    source = make_source_folder(sample_media, base / "source")
    data_dir = base / "data"
    collection = open_collection(data_dir, models)
    report = ingest(collection, folder_sources(source).sources, needed, progress=False)
    yield data_dir, source, collection, report
    collection.store.close()


def test_ingest_counts_added(ingested) -> None:
    _, _, collection, report = ingested

    assert report.added == {"image": 3, "speech": 1}
    assert report.duplicates == 0
    assert collection.counts() == {"image": 3, "speech": 1}


def test_ingest_skips_bad_files(ingested) -> None:
    _, source, _, report = ingested
    reasons = dict(report.skipped)

    assert sorted(reasons) == [str(source / "broken.jpg"), str(source / "silent_nothing.wav")]
    assert reasons[str(source / "silent_nothing.wav")] == "The audio file is empty."
    assert reasons[str(source / "broken.jpg")] == (
        "The image is truncated or corrupt, so its pixels could not be decoded."
    )


def test_ingest_report_json(ingested) -> None:
    _, source, _, report = ingested
    data = report.to_json()

    assert set(data) == {"added", "duplicates", "skipped", "seconds", "items_per_second"}
    assert data["added"] == {"image": 3, "speech": 1}
    assert {entry["path"] for entry in data["skipped"]} == {
        str(source / "broken.jpg"),
        str(source / "silent_nothing.wav"),
    }
    assert data["seconds"] > 0
    assert data["items_per_second"] > 0


def test_ingest_stores_transcript(ingested) -> None:
    _, _, collection, _ = ingested
    [spoken] = collection.store.items("shapes", "speech")

    assert spoken.stem == "red_circle"
    assert spoken.transcript
    assert "circle" in spoken.transcript.lower()
    assert spoken.caption == "A red circle."
    assert spoken.pair_key == "red_circle"


def test_ingest_stores_labels(ingested) -> None:
    _, _, collection, _ = ingested
    pictures = collection.store.items("shapes", "image")

    assert sorted(item.stem for item in pictures) == ["blue_square", "green_triangle", "red_circle"]
    for item in pictures:
        assert item.labels, item.path
        assert all(isinstance(name, str) and name for name, _ in item.labels)
        assert all(0.0 < prob <= 1.0 for _, prob in item.labels)


def test_ingest_stores_hashes(ingested) -> None:
    _, source, collection, _ = ingested
    names = ("red_circle.png", "blue_square.jpg", "green_triangle.png", "red_circle.wav")
    expected = {content_hash(source / name) for name in names}

    assert collection.store.known_hashes("shapes") == expected


def test_ingest_writes_loadable_indexes(ingested, models) -> None:
    data_dir, _, collection, _ = ingested
    folder = data_dir / "collections" / "shapes"
    image_ids = {item.item_id for item in collection.store.items("shapes", "image")}
    speech_ids = {item.item_id for item in collection.store.items("shapes", "speech")}

    index_files = sorted(path.name for path in folder.glob("*.faiss"))

    assert index_files == ["image.text.faiss", "image.visual.faiss", "speech.text.faiss"]
    assert list(folder.glob("*.partial")) == []
    assert VectorIndex(folder / "image.text.faiss", space_dim(models, "text")).ids() == image_ids
    assert VectorIndex(folder / "image.visual.faiss", space_dim(models, "visual")).ids() == image_ids
    assert VectorIndex(folder / "speech.text.faiss", space_dim(models, "text")).ids() == speech_ids


def test_ingest_twice_adds_once(ingested, needed) -> None:
    _, source, collection, _ = ingested

    again = ingest(collection, folder_sources(source).sources, needed, progress=False)

    assert again.added == {"image": 0, "speech": 0}
    assert again.duplicates == 4
    assert len(again.skipped) == 2
    assert collection.counts() == {"image": 3, "speech": 1}


def test_ingest_copy_is_duplicate(ingested, needed, tmp_path: Path) -> None:
    _, source, collection, _ = ingested
    shutil.copy(source / "red_circle.png", tmp_path / "another_name.png")

    report = ingest(collection, folder_sources(tmp_path).sources, needed, progress=False)

    assert report.added == {"image": 0, "speech": 0}
    assert report.duplicates == 1
    assert report.skipped == []


def test_ingest_unreadable_source_skipped(models, needed, sample_media: Path, tmp_path: Path) -> None:
    sources = folder_sources(sample_media).sources
    missing_picture = tmp_path / "gone.jpg"
    collection = open_collection(tmp_path / "data", models)
    try:
        report = ingest(collection, [Source(path=missing_picture, kind="image"), sources[0]], needed, progress=False)
    finally:
        collection.store.close()

    assert report.added == {"image": 1, "speech": 0}
    assert [path for path, _ in report.skipped] == [str(missing_picture)]
    assert report.skipped[0][1].startswith("it could not be read")


def test_ingest_nothing(models, needed, tmp_path: Path) -> None:
    collection = open_collection(tmp_path / "data", models)
    try:
        report = ingest(collection, [], needed, progress=False)
    finally:
        collection.store.close()

    assert report == IngestReport(seconds=report.seconds)
    assert report.items_per_second == 0.0


def test_collection_rejects_bad_name(models, tmp_path: Path) -> None:
    store = MetadataStore(tmp_path / "saysee.sqlite3")
    try:
        for name in ("../escape", "", "has space", "-dash-first", "x" * 65):
            with pytest.raises(UnknownCollectionError, match="Invalid collection name"):
                Collection(tmp_path, name, store, models)
    finally:
        store.close()


def test_ingest_crash_then_ensure_vectors(models, needed, sample_media: Path, tmp_path: Path) -> None:
    source = make_source_folder(sample_media, tmp_path / "source")
    data_dir = tmp_path / "data"
    sources = folder_sources(source).sources

    crashing = open_collection(data_dir, models)

    def crash(*_args, **_kwargs) -> None:
        raise RuntimeError("killed while writing vectors")

    # The first chunk of one picture reaches SQLite, then the process "dies".
    crashing.add_vectors = crash
    with pytest.raises(RuntimeError, match="killed while writing vectors"):
        ingest(crashing, sources, needed, progress=False, image_batch=1)
    crashing.store.close()

    restarted = open_collection(data_dir, models)
    try:
        [stored] = restarted.store.items("shapes")
        assert stored.kind == "image"
        assert restarted.index("image", "visual").ids() == set()
        assert restarted.index("image", "text").ids() == set()

        failures = restarted.ensure_vectors(needed, progress=False)

        assert failures == []
        assert restarted.index("image", "visual").ids() == {stored.item_id}
        assert restarted.index("image", "text").ids() == {stored.item_id}
        assert VectorIndex(data_dir / "collections" / "shapes" / "image.visual.faiss",
                           space_dim(models, "visual")).ids() == {stored.item_id}

        resumed = ingest(restarted, sources, needed, progress=False)

        assert resumed.added == {"image": 2, "speech": 1}
        assert resumed.duplicates == 1
        image_ids = {item.item_id for item in restarted.store.items("shapes", "image")}
        assert restarted.index("image", "visual").ids() == image_ids
        assert len(restarted.index("speech", "text")) == 1
    finally:
        restarted.store.close()


def test_seed_ingest_then_cascade_vectors(models, sample_media: Path, tmp_path: Path) -> None:
    # A spoken caption without sidecar text can enter the text space only through its transcript.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(sample_media / "red_circle.wav", source / "spoken.wav")
    collection = open_collection(tmp_path / "data", models)
    try:
        ingest(collection, folder_sources(source).sources, SeedEngine(models).needed(), progress=False)

        failures = collection.ensure_vectors(CascadeEngine(models).needed(), progress=False)

        assert failures == []
        assert len(collection.index("speech", "text")) == 1
    finally:
        collection.store.close()


def test_ingest_wordless_audio_counted_once(models, needed, shared_dir: Path, tmp_path: Path) -> None:
    # A steady tone and digital silence decode fine but hold no words to transcribe.
    fixtures = shared_dir / "fixtures" / "seed-logmel"
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(fixtures / "tone_440_16k.wav", source / "tone.wav")
    shutil.copy(fixtures / "silence_16k.wav", source / "silence.wav")
    collection = open_collection(tmp_path / "data", models)
    try:
        report = ingest(collection, folder_sources(source).sources, needed, progress=False)
        stored = {item.path for item in collection.store.items("shapes")}
    finally:
        collection.store.close()
    skipped = {path for path, _ in report.skipped}

    assert stored.isdisjoint(skipped)
    assert report.added["speech"] + len(report.skipped) == 2
