"""Files with the same content in one ingest: counted once, or all reported when unreadable."""

from __future__ import annotations

import shutil
from pathlib import Path

from search.collection import Collection
from search.engines.cascade import CascadeEngine
from search.ingest import ingest
from search.layouts import folder_sources
from search.service import open_store


def test_unreadable_repeat_reported_skipped(models, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    garbage = bytes(range(256)) * 4
    (source / "a.png").write_bytes(garbage)
    (source / "a.wav").write_bytes(garbage)
    collection = Collection(tmp_path / "data", "repeats", open_store(models.settings), models)

    report = ingest(collection, folder_sources(source).sources, CascadeEngine(models).needed(), progress=False)

    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert report.added == {"image": 0, "speech": 0}
    assert report.duplicates == 0
    assert set(skipped) == {"a.png", "a.wav"}
    assert "same content as" in skipped["a.wav"]


def test_readable_repeat_counted_duplicate(models, sample_media: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    picture = next(path for path in sorted(sample_media.iterdir()) if path.suffix == ".png")
    shutil.copy(picture, source / "first.png")
    shutil.copy(picture, source / "second.png")
    collection = Collection(tmp_path / "data", "repeats2", open_store(models.settings), models)

    report = ingest(collection, folder_sources(source).sources, CascadeEngine(models).needed(), progress=False)

    assert report.added["image"] == 1
    assert report.duplicates == 1
    assert report.skipped == []
