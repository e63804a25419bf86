"""The seed engine: the research team's two ResNet-18 towers in one 256-d space.

Voice notes longer than one 7 s window are embedded as overlapping windows
whose embeddings are averaged, so the whole note counts, not only its start.
"""

from __future__ import annotations

import torch
from PIL import Image

from search.audio import DecodedAudio
from search.collection import Collection
from search.engines.base import Engine, Ranking, StageTimer
from search.errors import SearchError
from search.image import seed_image_tensor
from search.logmel import logmel_windows

# The seed model was trained only partly, so its cosines are low and spread
# little; any positive similarity is shown, ranked.
MIN_SEED_SCORE = 0.0


class SeedEngine(Engine):
    name = "seed"

    def __init__(self, models) -> None:
        self.models = models

    def needed(self) -> list[tuple[str, str]]:
        return [("image", "seed"), ("speech", "seed")]

    def model_roles(self) -> list[str]:
        return ["seed"]

    def rank_audio(self, collection: Collection, audio: DecodedAudio, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        with timer.stage("features"):
            windows = logmel_windows(audio.samples)
        with timer.stage("encode"):
            vector = self.models.seed.embed_audio_windows(windows)
        with timer.stage("search"):
            scored = collection.index(kind, "seed").search(vector, top_k)
        return Ranking(scored=scored, min_score=MIN_SEED_SCORE)

    def rank_image(self, collection: Collection, image: Image.Image, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        with timer.stage("features"):
            tensor = seed_image_tensor(image).unsqueeze(0)
        with timer.stage("encode"):
            vector = self.models.seed.embed_images(tensor)[0]
        with timer.stage("search"):
            scored = collection.index(kind, "seed").search(vector, top_k)
        return Ranking(scored=scored, min_score=MIN_SEED_SCORE)

    def rank_text(self, collection: Collection, text: str, kind: str, top_k: int,
                  timer: StageTimer) -> Ranking:
        raise SearchError("The seed engine has no text encoder; search by text with the cascade or hybrid engine.")
