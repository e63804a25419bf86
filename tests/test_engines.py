"""Tests of the engines: reciprocal-rank fusion, engine choice, and the seed and hybrid engines on a tiny collection.

The seed towers here carry random weights, so these tests check the shape of
what the engines return, not the quality of the seed model's rankings.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from search.collection import Collection
from search.config import Settings
from search.engines import create_engine, resolve_engine_name
from search.engines.base import Engine, Ranking, StageTimer
from search.engines.cascade import CascadeEngine
from search.engines.hybrid import DEPTH, HybridEngine, fuse
from search.engines.seed import SeedEngine
from search.errors import ConfigurationError, SearchError
from search.ingest import ingest
from search.layouts import folder_sources
from search.models import ModelSet
from search.service import SearchService
from search.store import MetadataStore


def rrf(*ranks: int) -> float:
    """Reciprocal-rank fusion score of an item at these ranks, with the constant k = 60."""
    return sum(1.0 / (60 + rank) for rank in ranks)


def test_fuse_two_rankings() -> None:
    first = [(1, 0.9), (2, 0.8), (3, 0.7)]
    second = [(2, 0.5), (4, 0.4), (1, 0.3)]

    fused = fuse([first, second], top_k=10)

    assert [item_id for item_id, _ in fused] == [2, 1, 4, 3]
    assert fused[0][1] == pytest.approx(rrf(2, 1))
    assert fused[1][1] == pytest.approx(rrf(1, 3))
    assert fused[2][1] == pytest.approx(rrf(2))
    assert fused[3][1] == pytest.approx(rrf(3))


def test_fuse_ignores_raw_scores() -> None:
    fused = fuse([[(7, -0.5), (8, 0.99)]], top_k=10)

    assert fused == [(7, pytest.approx(rrf(1))), (8, pytest.approx(rrf(2)))]


def test_fuse_cuts_to_top_k() -> None:
    fused = fuse([[(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 0.9), (2, 0.8), (1, 0.7)]], top_k=2)

    # 1/61 + 1/63 beats 2/62, so the two ends of both lists come first and item 2 is cut.
    assert fused == [(1, pytest.approx(rrf(1, 3))), (3, pytest.approx(rrf(3, 1)))]


def test_fuse_ties_keep_first_seen() -> None:
    fused = fuse([[(5, 0.9)], [(6, 0.9)]], top_k=10)

    assert fused == [(5, pytest.approx(rrf(1))), (6, pytest.approx(rrf(1)))]


def test_fuse_empty() -> None:
    assert fuse([], top_k=5) == []
    assert fuse([[], []], top_k=5) == []


class FixedEngine(Engine):
    """Engine that returns one fixed ranking for every query and records the depth it was asked for."""

    name = "fixed"
    models = None

    def __init__(self, ranking: Ranking) -> None:
        self.ranking = ranking
        self.depths: list[int] = []

    def needed(self):
        return [("image", "fixed")]

    def model_roles(self):
        return []

    def _rank(self, top_k: int) -> Ranking:
        self.depths.append(top_k)
        return Ranking(scored=list(self.ranking.scored), min_score=self.ranking.min_score,
                       heard=self.ranking.heard, notes=list(self.ranking.notes))

    def rank_audio(self, collection, audio, kind, top_k, timer):
        return self._rank(top_k)

    def rank_image(self, collection, image, kind, top_k, timer):
        return self._rank(top_k)

    def rank_text(self, collection, text, kind, top_k, timer):
        return self._rank(top_k)


def test_hybrid_fuses_confident_cascade() -> None:
    cascade = FixedEngine(Ranking(scored=[(1, 0.8), (2, 0.5)], min_score=0.35, heard="a red circle", notes=["c"]))
    seed = FixedEngine(Ranking(scored=[(2, 0.1), (3, 0.05)], min_score=0.0, notes=["s"]))

    ranking = HybridEngine(cascade, seed).rank_audio(None, None, "image", 5, StageTimer())

    assert ranking.scored == [(2, pytest.approx(rrf(2, 1))), (1, pytest.approx(rrf(1))), (3, pytest.approx(rrf(2)))]
    assert ranking.min_score == 0.0
    assert ranking.heard == "a red circle"
    assert ranking.notes == ["c", "s"]
    assert cascade.depths == [DEPTH]
    assert seed.depths == [DEPTH]


def test_hybrid_unsure_cascade_hides_all() -> None:
    cascade = FixedEngine(Ranking(scored=[(1, 0.2), (2, 0.1)], min_score=0.35))
    seed = FixedEngine(Ranking(scored=[(2, 0.9)], min_score=0.0))

    ranking = HybridEngine(cascade, seed).rank_image(None, None, "speech", 1, StageTimer())

    assert ranking.scored == [(2, pytest.approx(rrf(2, 1)))]
    assert ranking.min_score == 1.0
    assert all(score < ranking.min_score for _, score in ranking.scored)


def test_hybrid_text_uses_cascade_only() -> None:
    cascade = FixedEngine(Ranking(scored=[(4, 0.7)], min_score=0.35))
    seed = FixedEngine(Ranking(scored=[(9, 0.9)], min_score=0.0))

    ranking = HybridEngine(cascade, seed).rank_text(None, "a dog", "image", 3, StageTimer())

    assert ranking.scored == [(4, 0.7)]
    assert cascade.depths == [3]
    assert seed.depths == []


def test_hybrid_needs_both_spaces() -> None:
    cascade = FixedEngine(Ranking(scored=[], min_score=0.35))
    seed = FixedEngine(Ranking(scored=[], min_score=0.0))

    assert HybridEngine(cascade, seed).needed() == [("image", "fixed"), ("image", "fixed")]


def test_resolve_auto_without_seed() -> None:
    assert resolve_engine_name(Settings(engine="auto")) == "cascade"


def test_resolve_auto_with_seed(tmp_path: Path) -> None:
    assert resolve_engine_name(Settings(engine="auto", seed_weights=tmp_path)) == "hybrid"


def test_resolve_explicit_engine(tmp_path: Path) -> None:
    assert resolve_engine_name(Settings(engine="cascade", seed_weights=tmp_path)) == "cascade"
    assert resolve_engine_name(Settings(engine="seed", seed_weights=tmp_path)) == "seed"
    assert resolve_engine_name(Settings(engine="hybrid")) == "hybrid"


def test_settings_reject_unknown_engine() -> None:
    with pytest.raises(ValueError, match="engine must be one of auto, cascade, seed, hybrid, got 'fast'"):
        Settings.from_env(engine="fast")


def test_create_engine_by_name() -> None:
    models = ModelSet(Settings())

    assert isinstance(create_engine("cascade", models), CascadeEngine)
    assert isinstance(create_engine("seed", models), SeedEngine)
    assert isinstance(create_engine("hybrid", models), HybridEngine)
    with pytest.raises(ValueError, match="unknown engine 'fast'"):
        create_engine("fast", models)


def test_seed_without_weights_raises() -> None:
    with pytest.raises(ConfigurationError, match="SAYSEE_SEED_WEIGHTS"):
        SeedEngine(ModelSet(Settings())).warm_up()


@pytest.fixture(scope="module")
def tiny(models, sample_media: Path, tmp_path_factory: pytest.TempPathFactory):
    """Ingest the sample files for the cascade and seed spaces; yield (data folder, store, source folder)."""
    base = tmp_path_factory.mktemp("engines")
    source = base / "source"
    shutil.copytree(sample_media, source)
    data_dir = base / "data"
    store = MetadataStore(data_dir / "saysee.sqlite3")
    collection = Collection(data_dir, "tiny", store, models)
    needed = HybridEngine(CascadeEngine(models), SeedEngine(models)).needed()
    report = ingest(collection, folder_sources(source).sources, needed, progress=False)
    assert report.added == {"image": 3, "speech": 1}
    assert report.skipped == []
    yield data_dir, store, source
    store.close()


def tiny_service(models, tiny, engine: Engine) -> SearchService:
    data_dir, store, _ = tiny
    settings = replace(models.settings, data_dir=data_dir, collection="tiny", engine=engine.name)
    collection = Collection(data_dir, "tiny", store, models)
    assert collection.ensure_vectors(engine.needed(), progress=False) == []
    return SearchService(settings, store, models, engine, collection)


@pytest.mark.slow
def test_seed_audio_ranks_pictures(models, tiny) -> None:
    service = tiny_service(models, tiny, SeedEngine(models))

    result = service.query_audio(tiny[2] / "red_circle.wav", kind="image", top_k=5)
    scores = [hit.score for hit in result.results]

    assert result.engine == "seed"
    assert [hit.rank for hit in result.results] == [1, 2, 3]
    assert {Path(hit.path).stem for hit in result.results} == {"red_circle", "blue_square", "green_triangle"}
    assert all(-1.0 <= score <= 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    assert result.heard is None
    assert result.min_score == 0.0


@pytest.mark.slow
def test_seed_image_ranks_speech(models, tiny) -> None:
    service = tiny_service(models, tiny, SeedEngine(models))

    result = service.query_image(tiny[2] / "blue_square.jpg", kind="speech", top_k=5)

    assert [Path(hit.path).name for hit in result.results] == ["red_circle.wav"]
    assert -1.0 <= result.results[0].score <= 1.0


@pytest.mark.slow
def test_seed_image_finds_itself(models, tiny) -> None:
    service = tiny_service(models, tiny, SeedEngine(models))

    result = service.query_image(tiny[2] / "green_triangle.png", kind="image", top_k=1)

    assert Path(result.results[0].path).name == "green_triangle.png"
    assert result.results[0].score == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_seed_text_raises(models, tiny) -> None:
    service = tiny_service(models, tiny, SeedEngine(models))

    with pytest.raises(SearchError, match="no text encoder"):
        service.query_text("a red circle")


@pytest.mark.slow
def test_hybrid_audio_returns_heard(models, tiny) -> None:
    service = tiny_service(models, tiny, HybridEngine(CascadeEngine(models), SeedEngine(models)))

    result = service.query_audio(tiny[2] / "red_circle.wav", kind="image", top_k=5)

    assert result.engine == "hybrid"
    assert result.heard
    assert len(result.results) == 3
    assert all(0.0 < hit.score <= rrf(1, 1) + 1e-4 for hit in result.results)
    assert result.min_score in (0.0, 1.0)
    assert service.info()["models"].keys() == {"recognizer", "text", "vision", "seed"}


@pytest.mark.slow
def test_hybrid_image_returns_speech(models, tiny) -> None:
    service = tiny_service(models, tiny, HybridEngine(CascadeEngine(models), SeedEngine(models)))

    result = service.query_image(tiny[2] / "red_circle.png", kind="speech", top_k=5)

    assert [Path(hit.path).name for hit in result.results] == ["red_circle.wav"]
    assert result.results[0].score == pytest.approx(rrf(1, 1), abs=1e-4)
