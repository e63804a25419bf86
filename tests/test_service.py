"""Tests of SearchService on the demo collection with the cascade engine: queries, input checks, JSON output."""

from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from search.collection import Collection
from search.errors import (
    AudioDecodeError,
    EmptyQueryError,
    ImageDecodeError,
    ImageTooLargeError,
    NoSpeechError,
    SearchError,
)
from search.results import Hit, QueryResult
from search.service import DEMO_SOURCE, SearchService

pytestmark = pytest.mark.slow

RESULT_KEYS = {"engine", "collection", "query", "heard", "results", "timings_ms", "min_score", "notes"}
HIT_KEYS = {"rank", "item_id", "kind", "path", "score", "caption", "transcript"}
DOG_WORDS = ("dog", "dingo", "puppy", "hound", "wolf", "fox", "terrier", "retriever")


def distinct_files(suffix: str) -> int:
    """Count the demo files of one suffix with distinct content, which is what ingest keeps."""
    return len({hashlib.sha256(path.read_bytes()).hexdigest() for path in DEMO_SOURCE.glob(f"*{suffix}")})


def test_text_elephant_first(demo_service: SearchService) -> None:
    result = demo_service.query_text("an elephant")

    assert "elephant" in Path(result.results[0].path).stem
    assert result.results[0].kind == "image"
    assert result.heard is None


def test_text_results_ranked(demo_service: SearchService) -> None:
    result = demo_service.query_text("a red apple", top_k=7)
    scores = [hit.score for hit in result.results]

    assert [hit.rank for hit in result.results] == [1, 2, 3, 4, 5, 6, 7]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= score <= 1.0 for score in scores)
    assert len({hit.item_id for hit in result.results}) == 7


def test_text_normalises_spaces(demo_service: SearchService) -> None:
    result = demo_service.query_text("  an\n elephant\t ")

    assert result.query == {"type": "text", "text": "an elephant", "kind": "image", "top_k": 5}


def test_text_speech_kind(demo_service: SearchService) -> None:
    result = demo_service.query_text("a horse", kind="speech", top_k=3)

    assert [hit.kind for hit in result.results] == ["speech", "speech", "speech"]
    assert all(Path(hit.path).suffix == ".ogg" for hit in result.results)


def test_text_blank_raises(demo_service: SearchService) -> None:
    with pytest.raises(EmptyQueryError) as raised:
        demo_service.query_text("   ")

    assert str(raised.value) == "The text query is empty; type a few words that describe what you are looking for."


def test_text_too_long_raises(demo_service: SearchService) -> None:
    with pytest.raises(EmptyQueryError) as raised:
        demo_service.query_text("a" * 501)

    assert str(raised.value) == "The text query is 501 characters long; keep it under 500."


def test_text_at_length_limit(demo_service: SearchService) -> None:
    result = demo_service.query_text("a" * 500, top_k=1)

    assert len(result.results) == 1


def test_invalid_kind_raises(demo_service: SearchService) -> None:
    with pytest.raises(SearchError, match="Unknown item kind 'video'; choose image or speech."):
        demo_service.query_text("an elephant", kind="video")


@pytest.mark.parametrize("top_k", [0, 101, -3])
def test_top_k_out_of_range(demo_service: SearchService, top_k: int) -> None:
    with pytest.raises(SearchError, match=f"top-k must be between 1 and 100, got {top_k}."):
        demo_service.query_text("an elephant", top_k=top_k)


def test_top_k_bounds_accepted(demo_service: SearchService) -> None:
    assert len(demo_service.query_text("an elephant", top_k=1).results) == 1
    assert len(demo_service.query_text("an elephant", top_k=100).results) == 100


def test_audio_red_apple(demo_service: SearchService, telegram_dir: Path) -> None:
    result = demo_service.query_audio(telegram_dir / "voice_red_apple.ogg")
    stems = [Path(hit.path).stem for hit in result.results]

    assert any("apple_red" in stem or ("apple" in stem and "red" in (hit.caption or "").lower())
               for stem, hit in zip(stems, result.results)), stems
    assert "apple" in result.heard.lower()
    assert result.query["type"] == "audio"
    assert result.query["duration_s"] > 0
    assert "transcribe" in result.timings_ms


def test_audio_bytes_same_as_path(demo_service: SearchService, telegram_dir: Path) -> None:
    path = telegram_dir / "voice_red_apple.ogg"

    from_path = demo_service.query_audio(path, top_k=3)
    from_bytes = demo_service.query_audio(path.read_bytes(), top_k=3)

    assert [hit.item_id for hit in from_bytes.results] == [hit.item_id for hit in from_path.results]
    assert from_bytes.heard == from_path.heard


def test_audio_silence_raises(demo_service: SearchService, telegram_dir: Path) -> None:
    with pytest.raises(NoSpeechError, match="No speech was heard"):
        demo_service.query_audio(telegram_dir / "voice_silence_3s.ogg")


def test_audio_long_note_truncated(demo_service: SearchService, telegram_dir: Path) -> None:
    result = demo_service.query_audio(telegram_dir / "voice_long_rambling.ogg")

    assert result.query["duration_s"] > 80
    assert any("only the first 25 s were searched" in note for note in result.notes), result.notes
    assert result.results
    # The kept 25 s hold four spoken sentences; a window filled to its end used to come back as "This is".
    assert len(result.heard.split()) > 40, result.heard


def test_audio_random_bytes_raise(demo_service: SearchService) -> None:
    noise = random.Random(11).randbytes(4096)

    with pytest.raises(AudioDecodeError, match="not audio in a format ffmpeg can read"):
        demo_service.query_audio(noise)


def test_audio_missing_file_raises(demo_service: SearchService, tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="does not exist"):
        demo_service.query_audio(tmp_path / "voice.ogg")


@pytest.mark.parametrize("name", ["photo_dog_exif_rotated.jpg", "photo_dog_alpha.png"])
def test_image_finds_dog_caption(demo_service: SearchService, telegram_dir: Path, name: str) -> None:
    result = demo_service.query_image(telegram_dir / name)
    texts = [f"{hit.caption or ''} {hit.transcript or ''}".lower() for hit in result.results]

    assert [hit.kind for hit in result.results] == ["speech"] * 5
    assert any(word in text for text in texts for word in DOG_WORDS), texts
    assert result.query["type"] == "image"
    assert any(note.startswith("The picture looks like:") for note in result.notes)


def test_image_exif_size_upright(demo_service: SearchService, telegram_dir: Path) -> None:
    from PIL import Image

    with Image.open(telegram_dir / "photo_dog_exif_rotated.jpg") as stored:
        stored_width, stored_height = stored.size
    result = demo_service.query_image(telegram_dir / "photo_dog_exif_rotated.jpg", top_k=1)

    assert (result.query["width"], result.query["height"]) == (stored_height, stored_width)


def test_image_to_images(demo_service: SearchService) -> None:
    result = demo_service.query_image(DEMO_SOURCE / "animals__mammals__elephant.jpg", kind="image", top_k=3)

    assert Path(result.results[0].path).name == "animals__mammals__elephant.jpg"
    assert result.results[0].score == pytest.approx(1.0, abs=1e-3)


def test_image_text_file_raises(demo_service: SearchService, tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("this is a shopping list, not a photo\n", encoding="utf-8")

    with pytest.raises(ImageDecodeError, match="not an image"):
        demo_service.query_image(notes)


def test_image_over_pixel_limit(demo_service: SearchService, telegram_dir: Path) -> None:
    settings = replace(demo_service.settings, max_image_pixels=1000)
    collection = Collection(settings.data_dir, "demo", demo_service.store, demo_service.models)
    small = SearchService(settings, demo_service.store, demo_service.models, demo_service.engine, collection)

    with pytest.raises(ImageTooLargeError, match="the limit is 1,000 pixels"):
        small.query_image(telegram_dir / "photo_dog_alpha.png")


def test_info_counts_and_models(demo_service: SearchService) -> None:
    info = demo_service.info()

    assert info["engine"] == "cascade"
    assert info["collection"] == "demo"
    assert info["collections"]["demo"] == {"image": distinct_files(".jpg"), "speech": distinct_files(".ogg")}
    assert set(info["models"]) == {"recognizer", "text", "vision"}
    assert all(isinstance(version, str) and version for version in info["models"].values())
    assert info["data_dir"].endswith("var")


def test_result_json_contract(demo_service: SearchService, telegram_dir: Path) -> None:
    data = demo_service.query_audio(telegram_dir / "voice_red_apple.ogg", top_k=3).to_json()

    assert set(data) == RESULT_KEYS
    assert data["engine"] == "cascade"
    assert data["collection"] == "demo"
    assert isinstance(data["heard"], str)
    assert len(data["results"]) == 3
    for hit in data["results"]:
        assert set(hit) == HIT_KEYS
    assert all(isinstance(ms, float) for ms in data["timings_ms"].values())
    assert isinstance(data["min_score"], float)
    assert isinstance(data["notes"], list)


def test_confident_results_filter() -> None:
    hits = [
        Hit(rank=rank, item_id=rank, kind="image", path=f"/p/{rank}.jpg", score=score, caption=None, transcript=None)
        for rank, score in enumerate([0.9, 0.35, 0.34, 0.1], start=1)
    ]
    result = QueryResult(engine="cascade", collection="demo", query={}, heard=None, results=hits, min_score=0.35)

    assert [hit.rank for hit in result.confident_results()] == [1, 2]
    assert len(result.results) == 4


def test_parallel_queries_match_serial(demo_service: SearchService, telegram_dir: Path) -> None:
    queries = [
        ("audio", telegram_dir / "voice_red_apple.ogg"),
        ("audio", telegram_dir / "voice_fire_truck.ogg"),
        ("image", telegram_dir / "photo_dog_alpha.png"),
        ("text", "a fire truck"),
    ]

    def run(query) -> tuple[str | None, list[int]]:
        kind, value = query
        if kind == "audio":
            result = demo_service.query_audio(value)
        elif kind == "image":
            result = demo_service.query_image(value)
        else:
            result = demo_service.query_text(value)
        return result.heard, [hit.item_id for hit in result.results]

    serial = [run(query) for query in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(run, queries * 2))

    assert parallel == serial * 2
