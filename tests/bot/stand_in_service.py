"""A stand-in for `SearchService` with the same methods, for bot tests that need no models.

It returns results over small generated pictures and spoken captions, records
every call, can raise a chosen error, and can hold queries until a test
releases them (to check that the bot keeps answering while a search runs).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PIL import Image

from search.results import Hit, QueryResult

FIXTURE_VOICE_BYTES = b"OggS" + bytes(60)

PICTURE_CAPTIONS = [
    "A brown dog runs along the beach",
    "A red apple on a wooden table",
    "A fire truck parked by the station",
    "Two cats asleep on a sofa",
    "A sailing boat on a calm lake",
    "A child flying a kite in a park",
    "Snowy mountains under a blue sky",
    "A bowl of noodles with chopsticks",
    "A yellow taxi in the rain",
    "A horse grazing in a field",
    "An owl on a branch at night",
]
SPEECH_TRANSCRIPTS = [
    "a puppy is playing with a ball",
    "a dog jumps into the water",
    "the wolf howls at the moon",
]


class StandInService:
    """Stand-in with the query methods of `SearchService`, returning results the test chooses."""

    engine_name = "stand-in"
    collection = "demo"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pictures = [self._picture(index) for index in range(len(PICTURE_CAPTIONS))]
        self.voices = [self._voice(index) for index in range(len(SPEECH_TRANSCRIPTS))]
        self.calls: list[dict[str, Any]] = []
        # Score of every hit; set below `min_score` to make nothing confident.
        self.score = 0.9
        self.min_score = 0.5
        # How many hits clear the minimum; the rest get a score below it.
        self.confident = 10
        self.heard = "a dog on the beach"
        self.notes: list[str] = []
        self.error: Exception | None = None
        # Cleared by a test to hold every query until it is set again.
        self.gate = threading.Event()
        self.gate.set()
        # Query files the bot handed over, and whether each existed at the time.
        self.downloaded_paths: list[Path] = []
        self.query_paths_existed: list[bool] = []

    def _picture(self, index: int) -> Path:
        path = self.folder / f"picture_{index}.jpg"
        Image.new("RGB", (32, 24), ((index * 40) % 256, 80, 160)).save(path, "JPEG")
        return path

    def _voice(self, index: int) -> Path:
        path = self.folder / f"spoken_{index}.ogg"
        path.write_bytes(FIXTURE_VOICE_BYTES + bytes([index]))
        return path

    def _answer(
        self, method: str, query: dict[str, Any], kind: str, top_k: int, **recorded: Any
    ) -> QueryResult:
        self.calls.append({"method": method, "kind": kind, "top_k": top_k, **query, **recorded})
        self.gate.wait(timeout=30)
        if self.error is not None:
            raise self.error
        if kind == "image":
            items = [(path, caption, None) for path, caption in zip(self.pictures, PICTURE_CAPTIONS)]
        else:
            items = [(path, None, transcript) for path, transcript in zip(self.voices, SPEECH_TRANSCRIPTS)]
        hits = [
            Hit(
                rank=rank,
                item_id=rank - 1,
                kind=kind,
                path=str(path),
                score=self.score if rank <= self.confident else self.min_score / 2,
                caption=caption,
                transcript=transcript,
            )
            for rank, (path, caption, transcript) in enumerate(items[:top_k], start=1)
        ]
        heard = self.heard if method == "query_audio" else None
        return QueryResult(
            engine=self.engine_name,
            collection=self.collection,
            query=query,
            heard=heard,
            results=hits,
            timings_ms={"decode": 1.0, "encode": 2.0, "search": 0.5},
            min_score=self.min_score,
            notes=list(self.notes),
        )

    def _remember(self, path: str | Path) -> bytes:
        self.downloaded_paths.append(Path(path))
        self.query_paths_existed.append(Path(path).is_file())
        return Path(path).read_bytes()

    def query_audio(self, path: str | Path, kind: str = "image", top_k: int = 5) -> QueryResult:
        data = self._remember(path)
        return self._answer("query_audio", {"audio": Path(path).name}, kind, top_k, audio_bytes=data)

    def query_image(self, path: str | Path, kind: str = "speech", top_k: int = 5) -> QueryResult:
        data = self._remember(path)
        return self._answer("query_image", {"image": Path(path).name}, kind, top_k, image_bytes=data)

    def query_text(self, text: str, kind: str = "image", top_k: int = 5) -> QueryResult:
        return self._answer("query_text", {"text": text}, kind, top_k)

    def info(self) -> dict[str, Any]:
        return {
            "engine": self.engine_name,
            "collections": {self.collection: {"image": len(self.pictures), "speech": len(self.voices)}},
            "models": {"speech recognition": "whisper-test 1.0", "text encoder": "minilm-test 2.0"},
        }
