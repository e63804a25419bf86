"""Tests of the source layouts: plain folders, manifest CSVs and the Flickr Audio Caption Corpus tree."""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import pytest
from PIL import Image

from search.layouts import (
    LayoutError,
    flickr_audio_sources,
    folder_sources,
    kind_of,
    manifest_sources,
    read_sources,
)

# The first three ids of the test split in the research team's metadata, in sorted order.
FLICKR_TEST_IDS = ["1022454332_6af2c1449a", "1022454428_b6b660a67b", "1022975728_75515238d8"]
FLICKR_TEST_IMAGES = 1000
FLICKR_TEST_CAPTIONS = 5000
FLICKR_ALL_IMAGES = 8000
FLICKR_ALL_CAPTIONS = 40000


def write_jpeg(path: Path, colour=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 12), colour).save(path, format="JPEG")
    return path


def write_wav(path: Path, frames: int = 1600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(b"\x00\x01" * frames)
    return path


@pytest.fixture(scope="module")
def flickr_meta(shared_dir: Path) -> Path:
    return shared_dir / "data" / "bytefuse_challenge_flickr_meta.csv"


@pytest.fixture
def flickr_tree(tmp_path: Path) -> Path:
    """A corpus root with all five captions of two test ids and two of the third."""
    root = tmp_path / "corpus"
    for position, image_id in enumerate(FLICKR_TEST_IDS):
        folder = root / "flickr_audio_8k" / image_id
        write_jpeg(folder / f"{image_id}.jpg", colour=(position * 60, 90, 90))
        captions = range(5) if position < 2 else (0, 3)
        for number in captions:
            write_wav(folder / f"{image_id}_{number}.wav", frames=800 + number)
    return root


def test_kind_of_by_suffix() -> None:
    assert kind_of(Path("a.jpg")) == "image"
    assert kind_of(Path("a.JPEG")) == "image"
    assert kind_of(Path("a.webp")) == "image"
    assert kind_of(Path("a.ogg")) == "speech"
    assert kind_of(Path("a.WAV")) == "speech"
    assert kind_of(Path("a.txt")) is None
    assert kind_of(Path("a")) is None


def test_folder_pairs_by_stem(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "cat.jpg")
    write_wav(tmp_path / "cat.wav")
    write_jpeg(tmp_path / "dog.jpg")

    sources = folder_sources(tmp_path).sources

    assert [(s.path.name, s.kind, s.pair_key) for s in sources] == [
        ("cat.jpg", "image", "cat"),
        ("cat.wav", "speech", "cat"),
        ("dog.jpg", "image", "dog"),
    ]


def test_folder_paths_are_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jpeg(tmp_path / "pictures" / "cat.jpg")
    monkeypatch.chdir(tmp_path)

    [source] = folder_sources(Path("pictures")).sources

    assert source.path == tmp_path / "pictures" / "cat.jpg"
    assert source.path.is_absolute()


def test_folder_sidecar_captions(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "cat.jpg")
    (tmp_path / "cat.txt").write_text("  A cat on a mat.  \nA second line.\n", encoding="utf-8")
    write_wav(tmp_path / "cat.wav")
    write_jpeg(tmp_path / "dog.jpg")
    (tmp_path / "dog.txt").write_text("\n  \n", encoding="utf-8")
    write_jpeg(tmp_path / "owl.jpg")

    captions = {s.path.name: s.caption for s in folder_sources(tmp_path).sources}

    assert captions == {"cat.jpg": "A cat on a mat.", "cat.wav": "A cat on a mat.", "dog.jpg": None, "owl.jpg": None}


def test_folder_nested_pairs_per_folder(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "farm" / "cat.jpg")
    write_wav(tmp_path / "farm" / "cat.wav")
    write_jpeg(tmp_path / "city" / "cat.jpg")
    write_wav(tmp_path / "city" / "night" / "cat.wav")

    keys = {str(s.path.relative_to(tmp_path)): s.pair_key for s in folder_sources(tmp_path).sources}

    assert keys == {
        "city/cat.jpg": "city/cat",
        "city/night/cat.wav": "city/night/cat",
        "farm/cat.jpg": "farm/cat",
        "farm/cat.wav": "farm/cat",
    }


def test_folder_ignores_other_files(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "cat.jpg")
    (tmp_path / "cat.txt").write_text("A cat.", encoding="utf-8")
    (tmp_path / "notes.md").write_text("# notes", encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    (tmp_path / "empty_folder.jpg").mkdir()

    sources = folder_sources(tmp_path)

    assert [s.path.name for s in sources.sources] == ["cat.jpg"]
    assert sources.missing == []


def test_folder_empty_gives_nothing(tmp_path: Path) -> None:
    sources = folder_sources(tmp_path)

    assert sources.sources == []
    assert sources.missing == []


def test_folder_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="does not exist or is not a folder"):
        folder_sources(tmp_path / "nowhere")


def test_folder_given_a_file_raises(tmp_path: Path) -> None:
    picture = write_jpeg(tmp_path / "cat.jpg")

    with pytest.raises(LayoutError, match="does not exist or is not a folder"):
        folder_sources(picture)


def write_manifest(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_manifest_relative_paths(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "pictures" / "cat.jpg")
    write_wav(tmp_path / "voices" / "cat_0.wav")
    manifest = write_manifest(tmp_path / "manifest.csv", ["path", "kind", "caption", "pair"], [
        ["pictures/cat.jpg", "image", "A cat on a mat.", "cat"],
        ["voices/cat_0.wav", "speech", "", "cat"],
    ])

    listed = manifest_sources(manifest)

    assert [(s.path, s.kind, s.caption, s.pair_key) for s in listed.sources] == [
        (tmp_path / "pictures" / "cat.jpg", "image", "A cat on a mat.", "cat"),
        (tmp_path / "voices" / "cat_0.wav", "speech", None, "cat"),
    ]
    assert listed.missing == []


def test_manifest_without_pair_column(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "cat.jpg")
    manifest = write_manifest(tmp_path / "manifest.csv", ["path", "kind", "caption"], [["cat.jpg", "image", "A cat."]])

    [source] = manifest_sources(manifest).sources

    assert source.pair_key is None
    assert source.caption == "A cat."


def test_manifest_reports_bad_rows(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "cat.jpg")
    manifest = write_manifest(tmp_path / "manifest.csv", ["path", "kind", "caption"], [
        ["cat.jpg", "image", "A cat."],
        ["clip.mp4", "video", "A clip."],
        ["gone.jpg", "image", "A lost picture."],
        ["cat.jpg", "", ""],
    ])

    listed = manifest_sources(manifest)

    assert [s.path.name for s in listed.sources] == ["cat.jpg"]
    assert listed.missing == [
        (str(tmp_path / "clip.mp4"), "line 3: kind must be image or speech, got 'video'"),
        (str(tmp_path / "gone.jpg"), "line 4: the file does not exist"),
        (str(tmp_path / "cat.jpg"), "line 5: kind must be image or speech, got ''"),
    ]


def test_manifest_missing_columns_raises(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "manifest.csv", ["file", "caption"], [["cat.jpg", "A cat."]])

    with pytest.raises(LayoutError, match="needs the columns path,kind,caption"):
        manifest_sources(manifest)


def test_manifest_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="does not exist"):
        manifest_sources(tmp_path / "manifest.csv")


def test_manifest_with_byte_order_mark(tmp_path: Path) -> None:
    # Spreadsheet programs such as Excel save "CSV UTF-8" with a byte order mark.
    write_jpeg(tmp_path / "cat.jpg")
    manifest = write_manifest(tmp_path / "manifest.csv", ["path", "kind", "caption"], [["cat.jpg", "image", "A cat."]],
                              encoding="utf-8-sig")

    [source] = manifest_sources(manifest).sources

    assert source.path == tmp_path / "cat.jpg"


def test_flickr_test_split(flickr_tree: Path, flickr_meta: Path) -> None:
    listed = flickr_audio_sources(flickr_tree, flickr_meta, "test")
    first = FLICKR_TEST_IDS[0]

    images = [s for s in listed.sources if s.kind == "image"]
    speech = [s for s in listed.sources if s.kind == "speech"]
    assert [s.path.name for s in images] == [f"{image_id}.jpg" for image_id in FLICKR_TEST_IDS]
    assert len(speech) == 12
    assert [s.path.name for s in listed.sources[:6]] == [f"{first}.jpg"] + [f"{first}_{n}.wav" for n in range(5)]
    assert all(s.pair_key == s.path.parent.name for s in listed.sources)
    assert all(s.caption is None for s in listed.sources)
    assert listed.sources[0].path == flickr_tree / "flickr_audio_8k" / first / f"{first}.jpg"


def test_flickr_reports_rest_of_split_missing(flickr_tree: Path, flickr_meta: Path) -> None:
    listed = flickr_audio_sources(flickr_tree, flickr_meta, "test")
    third = FLICKR_TEST_IDS[2]
    missing_paths = {path for path, _ in listed.missing}

    assert len(listed.missing) == (FLICKR_TEST_IMAGES - 3) + (FLICKR_TEST_CAPTIONS - 12)
    assert str(flickr_tree / "flickr_audio_8k" / third / f"{third}_1.wav") in missing_paths
    assert str(flickr_tree / "flickr_audio_8k" / third / f"{third}_0.wav") not in missing_paths
    assert {reason for _, reason in listed.missing} == {"the metadata lists it but the file is missing"}


def test_flickr_without_split_reads_all(flickr_tree: Path, flickr_meta: Path) -> None:
    listed = flickr_audio_sources(flickr_tree, flickr_meta, None)

    assert len(listed.sources) == 15
    assert len(listed.missing) == (FLICKR_ALL_IMAGES - 3) + (FLICKR_ALL_CAPTIONS - 12)


def test_flickr_other_split_finds_none(flickr_tree: Path, flickr_meta: Path) -> None:
    listed = flickr_audio_sources(flickr_tree, flickr_meta, "validation")

    assert listed.sources == []
    assert len(listed.missing) == 1000 + 5000


def test_flickr_unknown_split_raises(flickr_tree: Path, flickr_meta: Path) -> None:
    with pytest.raises(LayoutError, match="has no rows for the split 'dev'"):
        flickr_audio_sources(flickr_tree, flickr_meta, "dev")


def test_flickr_accepts_corpus_folder(flickr_tree: Path, flickr_meta: Path) -> None:
    listed = flickr_audio_sources(flickr_tree / "flickr_audio_8k", flickr_meta, "test")

    assert len(listed.sources) == 15


def test_flickr_without_corpus_folder_raises(tmp_path: Path, flickr_meta: Path) -> None:
    write_jpeg(tmp_path / "1022454332_6af2c1449a" / "1022454332_6af2c1449a.jpg")

    with pytest.raises(LayoutError, match="No flickr_audio_8k folder found in"):
        flickr_audio_sources(tmp_path, flickr_meta, "test")


def test_flickr_csv_missing_columns_raises(flickr_tree: Path, tmp_path: Path) -> None:
    meta = write_manifest(tmp_path / "meta.csv", ["audio_file", "image_file", "id_"], [
        [f"{FLICKR_TEST_IDS[0]}_0.wav", f"{FLICKR_TEST_IDS[0]}.jpg", FLICKR_TEST_IDS[0]],
    ])

    with pytest.raises(LayoutError, match="lacks the columns caption_number, split"):
        flickr_audio_sources(flickr_tree, meta, "test")


def test_flickr_missing_csv_raises(flickr_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="does not exist"):
        flickr_audio_sources(flickr_tree, tmp_path / "meta.csv", "test")


def test_read_sources_flickr_needs_meta(flickr_tree: Path) -> None:
    with pytest.raises(LayoutError, match="--meta FILE"):
        read_sources("flickr-audio", flickr_tree)


def test_read_sources_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="Unknown layout 'zip'"):
        read_sources("zip", tmp_path)


def test_read_sources_dispatches(flickr_tree: Path, flickr_meta: Path, tmp_path: Path) -> None:
    write_jpeg(tmp_path / "pictures" / "cat.jpg")
    rows = [["pictures/cat.jpg", "image", ""]]
    manifest = write_manifest(tmp_path / "manifest.csv", ["path", "kind", "caption"], rows)

    assert len(read_sources("folder", tmp_path / "pictures").sources) == 1
    assert len(read_sources("manifest", manifest).sources) == 1
    assert len(read_sources("flickr-audio", flickr_tree, flickr_meta, "test").sources) == 15


def test_flickr_csv_short_row_reported(flickr_tree: Path, tmp_path: Path) -> None:
    image_id = FLICKR_TEST_IDS[0]
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "audio_file,image_file,caption_number,id_,split\n"
        f"{image_id}_0.wav,{image_id}.jpg,0,{image_id},test\n"
        f"{image_id}_1.wav,{image_id}.jpg\n",
        encoding="utf-8",
    )

    found = flickr_audio_sources(flickr_tree, meta, None)

    assert [source.path.name for source in found.sources] == [f"{image_id}.jpg", f"{image_id}_0.wav"]
    assert found.missing == [(f"{meta}:3", "the metadata row has empty or missing fields")]
