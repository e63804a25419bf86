"""Tests of the `saysee` command line, run as a subprocess: JSON output, feature files, indexing and input errors.

Queries run on the demo index cached in the repository's var/. The
`demo_service` fixture builds it first when it is missing, so no subprocess
ever builds it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA_DIR = REPO_ROOT / "var"
RESULT_KEYS = {"engine", "collection", "query", "heard", "results", "timings_ms", "min_score", "notes"}
HIT_KEYS = {"rank", "item_id", "kind", "path", "score", "caption", "transcript"}


def saysee(*args: str | Path, data_dir: Path = DEMO_DATA_DIR,
           settings: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command line in the test's Python, with only the given SAYSEE_* settings in its environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SAYSEE_")}
    env.update(settings or {})
    command = [sys.executable, "-m", "search.cli", "--data-dir", str(data_dir), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("saysee:")]


@pytest.fixture(scope="module")
def demo_ready(demo_service) -> Path:
    return DEMO_DATA_DIR


def test_query_text_json(demo_ready: Path) -> None:
    completed = saysee("query", "--engine", "cascade", "--text", "a red apple", "--json")
    result = json.loads(completed.stdout)

    assert completed.returncode == 0, completed.stderr
    assert set(result) == RESULT_KEYS
    assert result["query"] == {"type": "text", "text": "a red apple", "kind": "image", "top_k": 5}
    assert len(result["results"]) == 5
    assert all(set(hit) == HIT_KEYS for hit in result["results"])
    assert result["heard"] is None
    assert len(completed.stdout.strip().splitlines()) == 1


def test_query_audio_json(demo_ready: Path, telegram_dir: Path) -> None:
    completed = saysee("query", "--engine", "cascade", "--audio", telegram_dir / "voice_red_apple.ogg",
                       "--top-k", "3", "--json")
    result = json.loads(completed.stdout)

    assert completed.returncode == 0, completed.stderr
    assert set(result) == RESULT_KEYS
    assert result["heard"]
    assert "apple" in result["heard"].lower()
    assert {"decode", "transcribe", "search"} <= set(result["timings_ms"])
    assert len(result["results"]) == 3


def test_query_image_table(demo_ready: Path, telegram_dir: Path) -> None:
    completed = saysee("query", "--engine", "cascade", "--image", telegram_dir / "photo_dog_alpha.png")
    lines = completed.stdout.splitlines()

    assert completed.returncode == 0, completed.stderr
    assert any(line.startswith("The picture looks like:") for line in lines)
    assert any(line.split()[:1] == ["rank"] for line in lines)
    assert lines[-1].startswith("timings: ")
    assert sum(1 for line in lines if line.strip().startswith(("1 ", "2 ", "3 ", "4 ", "5 "))) == 5


def test_features_audio_matches_golden(shared_dir: Path, tmp_path: Path) -> None:
    fixtures = shared_dir / "fixtures" / "seed-logmel"
    out = tmp_path / "features" / "speech.npy"

    completed = saysee("features", "--audio", fixtures / "speech_short_16k.wav", "--out", out, data_dir=tmp_path)
    written = np.load(out)
    expected = np.load(fixtures / "speech_short_16k.logmel.npy")

    assert completed.returncode == 0, completed.stderr
    assert written.dtype == np.float32
    assert written.shape == (1, 128, 701)
    assert float(np.abs(written - expected).max()) <= 1e-4
    assert completed.stdout.strip() == f"wrote {out}: shape (1, 128, 701), float32"


def test_features_image_shape(shared_dir: Path, tmp_path: Path) -> None:
    fixtures = shared_dir / "fixtures" / "seed-image"
    out = tmp_path / "elephant.npy"

    completed = saysee("features", "--image", fixtures / "elephant_photo.jpg", "--out", out, data_dir=tmp_path)
    written = np.load(out)

    assert completed.returncode == 0, completed.stderr
    assert written.dtype == np.float32
    assert written.shape == (3, 224, 224)
    assert float(np.abs(written - np.load(fixtures / "elephant_photo.pixels.npy")).max()) <= 1e-4


def test_info_json(demo_ready: Path, demo_service) -> None:
    completed = saysee("info", "--engine", "cascade", "--json")
    info = json.loads(completed.stdout)

    assert completed.returncode == 0, completed.stderr
    assert set(info) == {"engine", "collection", "collections", "models", "data_dir"}
    assert info["engine"] == "cascade"
    assert info["collections"]["demo"] == demo_service.store.counts()["demo"]
    assert set(info["models"]) == {"recognizer", "text", "vision"}


def test_evaluate_json(demo_ready: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "query,relevant\n"
        "an elephant,animals__mammals__elephant\n"
        "a red apple,food__fruit__apple_red;food__fruit__cartoon__apple\n"
        "a frog,animals__amphibians__frog;animals__amphibians__frog-1\n",
        encoding="utf-8",
    )

    completed = saysee("evaluate", "--engine", "cascade", "--queries", queries, "--json")
    summary = json.loads(completed.stdout)

    assert completed.returncode == 0, completed.stderr
    assert {"queries", "recall@1", "recall@5", "recall@10", "mean_rank", "per_query"} <= set(summary)
    assert summary["queries"] == 3
    assert summary["errors"] == 0
    assert [entry["query"] for entry in summary["per_query"]] == ["an elephant", "a red apple", "a frog"]
    assert summary["per_query"][0]["rank"] == 1
    assert 0.0 <= summary["recall@1"] <= summary["recall@5"] <= summary["recall@10"] <= 1.0
    assert 1.0 <= summary["mean_rank"] <= 101.0


def test_index_twice_adds_nothing(sample_media: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(sample_media, source)
    data_dir = tmp_path / "data"
    command = ("index", "--collection", "shapes", "--source", source, "--layout", "folder", "--engine", "cascade",
               "--json")

    first = saysee(*command, data_dir=data_dir)
    second = saysee(*command, data_dir=data_dir)
    first_report = json.loads(first.stdout)
    second_report = json.loads(second.stdout)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first_report["collection"] == "shapes"
    assert first_report["engine"] == "cascade"
    assert first_report["added"] == {"image": 3, "speech": 1}
    assert first_report["skipped"] == []
    assert second_report["added"] == {"image": 0, "speech": 0}
    assert second_report["duplicates"] == 4
    assert (data_dir / "collections" / "shapes" / "image.visual.faiss").is_file()


def bad_input(kind: str, tmp_path: Path, telegram_dir: Path) -> list[str | Path]:
    """Build the files of one bad-input case and return its arguments."""
    if kind == "missing-audio":
        return ["query", "--engine", "cascade", "--audio", tmp_path / "nowhere.ogg"]
    if kind == "corrupt-audio":
        broken = tmp_path / "broken.ogg"
        noise = random.Random(7).randbytes(2000)
        broken.write_bytes(telegram_dir.joinpath("voice_red_apple.ogg").read_bytes()[:200] + noise)
        return ["query", "--engine", "cascade", "--audio", broken]
    if kind == "text-as-image":
        notes = tmp_path / "notes.jpg"
        notes.write_text("a shopping list, not a photo\n", encoding="utf-8")
        return ["query", "--engine", "cascade", "--image", notes]
    if kind == "unknown-collection":
        return ["query", "--engine", "cascade", "--collection", "no_such_collection", "--text", "a cat"]
    if kind == "missing-queries":
        return ["evaluate", "--queries", tmp_path / "queries.csv"]
    if kind == "queries-without-columns":
        queries = tmp_path / "queries.csv"
        queries.write_text("text,target\nan elephant,elephant\n", encoding="utf-8")
        return ["evaluate", "--queries", queries]
    if kind == "invalid-collection-name":
        return ["index", "--collection", "../outside", "--source", telegram_dir]
    if kind == "missing-source":
        return ["index", "--collection", "shapes", "--source", tmp_path / "nowhere"]
    if kind == "features-out-under-file":
        (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
        return ["features", "--image", telegram_dir / "photo_dog_alpha.png", "--out", tmp_path / "taken" / "x.npy"]
    raise ValueError(kind)


# The error line each case is expected to print, as a regular expression.
BAD_INPUTS = {
    "missing-audio": r"saysee: The audio file does not exist or is not a regular file\.$",
    "corrupt-audio": r"saysee: The audio is corrupt or truncated, so it could not be decoded\.$",
    "text-as-image": r"saysee: The file is not an image in a format that can be read",
    "unknown-collection": r"saysee: The collection 'no_such_collection' has no items in .*saysee index",
    "missing-queries": r"saysee: The query file .*queries\.csv does not exist\.$",
    "queries-without-columns": r"saysee: The query file .*queries\.csv needs the columns query,relevant\.$",
    "invalid-collection-name": r"saysee: Invalid collection name '\.\./outside'",
    "missing-source": r"saysee: The source folder .*nowhere does not exist or is not a folder\.$",
    "features-out-under-file": r"saysee: .*taken",
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_exits_2(demo_ready: Path, tmp_path: Path, telegram_dir: Path, kind: str) -> None:
    completed = saysee(*bad_input(kind, tmp_path, telegram_dir))
    messages = error_lines(completed.stderr)

    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(messages) == 1, completed.stderr
    assert re.match(BAD_INPUTS[kind], messages[0]), messages[0]
    assert completed.stderr.strip().splitlines()[-1] == messages[0]
    assert completed.stdout == ""


def test_data_dir_is_file_exits_2(tmp_path: Path) -> None:
    plain_file = tmp_path / "taken"
    plain_file.write_text("a file, not a folder", encoding="utf-8")

    completed = saysee("info", "--json", data_dir=plain_file)

    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(error_lines(completed.stderr)) == 1, completed.stderr


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SAYSEE_THREADS", "two", "saysee_threads"),
        ("SAYSEE_THREADS", "0", "threads"),
        ("SAYSEE_MAX_AUDIO_SECONDS", "-5", "max_audio_seconds"),
        ("SAYSEE_MAX_AUDIO_SECONDS", "nan", "max_audio_seconds"),
    ],
)
def test_bad_setting_exits_2(tmp_path: Path, variable: str, value: str, named: str) -> None:
    completed = saysee("index", "--collection", "shapes", "--source", tmp_path / "nowhere",
                       data_dir=tmp_path / "data", settings={variable: value})
    messages = error_lines(completed.stderr)

    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(messages) == 1, completed.stderr
    assert named in messages[0].lower()
