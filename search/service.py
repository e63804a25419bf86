"""The one entry point callers use: open a collection with an engine, run queries.

`SearchService` is what the CLI and the bot call. It is synchronous and
CPU-bound; callers in an event loop run it in a worker thread. Queries may
run from several threads at once: the index and metadata are only read.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from search.audio import decode_audio, is_silent
from search.collection import Collection
from search.config import DEMO_COLLECTION, Settings
from search.engines import create_engine, resolve_engine_name
from search.engines.base import Ranking, StageTimer
from search.errors import EmptyQueryError, NoSpeechError, SearchError, UnknownCollectionError
from search.image import load_image
from search.layouts import folder_sources
from search.models import ModelSet
from search.results import Hit, QueryResult
from search.store import KINDS, MetadataStore

logger = logging.getLogger(__name__)

DEMO_SOURCE = Path(__file__).resolve().parents[1] / "data" / "demo"
MAX_TOP_K = 100
MAX_TEXT_CHARS = 500


def open_store(settings: Settings) -> MetadataStore:
    return MetadataStore(settings.data_dir / "saysee.sqlite3")


class SearchService:
    """A loaded engine bound to one collection's index."""

    def __init__(self, settings: Settings, store: MetadataStore, models: ModelSet, engine, collection: Collection):
        self.settings = settings
        self.store = store
        self.models = models
        self.engine = engine
        self.engine_name = engine.name
        self.collection = collection.name
        self._collection = collection

    @classmethod
    def open(cls, settings: Settings, progress: bool = True) -> "SearchService":
        """Load the engine once and make sure the collection is indexed (building the demo on first use)."""
        started = time.perf_counter()
        store = open_store(settings)
        models = ModelSet(settings)
        engine = create_engine(resolve_engine_name(settings), models)
        engine.warm_up()
        collection = Collection(settings.data_dir, settings.collection, store, models)

        if collection.is_empty():
            if settings.collection != DEMO_COLLECTION:
                raise UnknownCollectionError(
                    f"The collection {settings.collection!r} has no items in {settings.data_dir}; "
                    f"index it first with: saysee index --collection {settings.collection} --source PATH"
                )
            build_demo(collection, engine, progress)
        failures = collection.ensure_vectors(engine.needed(), progress=progress)
        for path, reason in failures:
            logger.warning("item %s could not be encoded: %s", path, reason)

        logger.info("opened collection %s with the %s engine in %.1f s (%s)", collection.name, engine.name,
                    time.perf_counter() - started, collection.counts())
        return cls(settings, store, models, engine, collection)

    def close(self) -> None:
        self.store.close()

    def query_audio(self, path: str | Path | bytes, kind: str = "image", top_k: int = 5) -> QueryResult:
        """Search items of `kind` with a recording (voice note, audio file)."""
        kind, top_k = _check_kind(kind), _check_top_k(top_k)
        timer = StageTimer()
        with timer.stage("decode"):
            audio = decode_audio(path, 16000, self.settings.max_audio_seconds)
        notes = []
        if audio.truncated:
            notes.append(
                f"The recording is {audio.duration_s:.0f} s long; only the first "
                f"{self.settings.max_audio_seconds:.0f} s were searched."
            )
        if is_silent(audio.samples, audio.sample_rate):
            raise NoSpeechError("No speech was heard: the recording is silent. Try again and say what you are looking for.")

        ranking = self.engine.rank_audio(self._collection, audio, kind, top_k, timer)
        ranking.notes[:0] = notes
        query = {"type": "audio", "duration_s": round(audio.duration_s, 2), "kind": kind, "top_k": top_k}
        return self._result(query, ranking, timer)

    def query_image(self, path: str | Path | bytes, kind: str = "speech", top_k: int = 5) -> QueryResult:
        """Search items of `kind` with a picture."""
        kind, top_k = _check_kind(kind), _check_top_k(top_k)
        timer = StageTimer()
        with timer.stage("decode"):
            image = load_image(path, self.settings.max_image_pixels)
        ranking = self.engine.rank_image(self._collection, image, kind, top_k, timer)
        query = {"type": "image", "width": image.width, "height": image.height, "kind": kind, "top_k": top_k}
        return self._result(query, ranking, timer)

    def query_text(self, text: str, kind: str = "image", top_k: int = 5) -> QueryResult:
        """Search items of `kind` with typed text."""
        kind, top_k = _check_kind(kind), _check_top_k(top_k)
        text = " ".join(text.split())
        if not text:
            raise EmptyQueryError("The text query is empty; type a few words that describe what you are looking for.")
        if len(text) > MAX_TEXT_CHARS:
            raise EmptyQueryError(f"The text query is {len(text)} characters long; keep it under {MAX_TEXT_CHARS}.")
        timer = StageTimer()
        ranking = self.engine.rank_text(self._collection, text, kind, top_k, timer)
        query = {"type": "text", "text": text, "kind": kind, "top_k": top_k}
        return self._result(query, ranking, timer)

    def info(self) -> dict[str, Any]:
        """Describe the engine, its model versions and each collection's item counts per kind."""
        return {
            "engine": self.engine_name,
            "collection": self.collection,
            "collections": self.store.counts(),
            "models": self.models.versions(self.engine.model_roles()),
            "data_dir": str(self.settings.data_dir),
        }

    def _result(self, query: dict[str, Any], ranking: Ranking, timer: StageTimer) -> QueryResult:
        with timer.stage("metadata"):
            items = self.store.get([item_id for item_id, _ in ranking.scored])
        hits = [
            Hit(rank=rank, item_id=item_id, kind=items[item_id].kind, path=items[item_id].path,
                score=round(float(score), 4), caption=items[item_id].caption,
                transcript=items[item_id].transcript)
            for rank, (item_id, score) in enumerate((pair for pair in ranking.scored if pair[0] in items), start=1)
        ]
        return QueryResult(engine=self.engine_name, collection=self.collection, query=query, heard=ranking.heard,
                           results=hits, timings_ms=timer.ms, min_score=ranking.min_score, notes=ranking.notes)


def build_demo(collection: Collection, engine, progress: bool) -> None:
    """Index the bundled demo collection (a few minutes on two cores, once per data folder)."""
    from search.ingest import ingest

    if not DEMO_SOURCE.is_dir():
        raise UnknownCollectionError(f"The demo collection is missing: {DEMO_SOURCE} does not exist.")
    logger.info("building the demo index from %s (once; it is cached in the data folder)", DEMO_SOURCE)
    report = ingest(collection, folder_sources(DEMO_SOURCE).sources, engine.needed(), progress=progress)
    for path, reason in report.skipped:
        logger.warning("demo item %s skipped: %s", path, reason)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise SearchError(f"Unknown item kind {kind!r}; choose image or speech.")
    return kind


def _check_top_k(top_k: int) -> int:
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise SearchError(f"top-k must be between 1 and {MAX_TOP_K}, got {top_k}.")
    return int(top_k)
