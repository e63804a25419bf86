"""The hybrid engine: reciprocal-rank fusion of the cascade and seed rankings.

Rank fusion needs no calibration between the two engines' scores, which live
in different spaces. The cascade's confidence decides whether anything is
shown: the partly trained seed model always returns neighbours, related or not.
"""

from __future__ import annotations

from PIL import Image

from search.audio import DecodedAudio
from search.collection import Collection
from search.engines.base import Engine, Ranking, StageTimer

# The usual constant of reciprocal-rank fusion (Cormack et al., 2009).
RRF_K = 60
# Number of results from each engine's ranking that enter the fusion.
DEPTH = 50


def fuse(rankings: list[list[tuple[int, float]]], top_k: int) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for scored in rankings:
        for rank, (item_id, _score) in enumerate(scored, start=1):
            fused[item_id] = fused.get(item_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)[:top_k]


class HybridEngine(Engine):
    name = "hybrid"

    def __init__(self, cascade: Engine, seed: Engine) -> None:
        self.cascade = cascade
        self.seed = seed
        self.models = cascade.models

    def needed(self) -> list[tuple[str, str]]:
        return self.cascade.needed() + self.seed.needed()

    def model_roles(self) -> list[str]:
        return self.cascade.model_roles() + self.seed.model_roles()

    def _combine(self, first: Ranking, second: Ranking, top_k: int) -> Ranking:
        confident = any(score >= first.min_score for _, score in first.scored)
        # Below this floor nothing counts as a match; a fused score never reaches 1.
        min_score = 0.0 if confident else 1.0
        return Ranking(scored=fuse([first.scored, second.scored], top_k), min_score=min_score,
                       heard=first.heard, notes=first.notes + second.notes)

    def rank_audio(self, collection: Collection, audio: DecodedAudio, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        cascade = self.cascade.rank_audio(collection, audio, kind, DEPTH, timer)
        seed = self.seed.rank_audio(collection, audio, kind, DEPTH, timer)
        return self._combine(cascade, seed, top_k)

    def rank_image(self, collection: Collection, image: Image.Image, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        cascade = self.cascade.rank_image(collection, image, kind, DEPTH, timer)
        seed = self.seed.rank_image(collection, image, kind, DEPTH, timer)
        return self._combine(cascade, seed, top_k)

    def rank_text(self, collection: Collection, text: str, kind: str, top_k: int,
                  timer: StageTimer) -> Ranking:
        return self.cascade.rank_text(collection, text, kind, top_k, timer)
