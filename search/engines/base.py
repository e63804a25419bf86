"""Engine interface: the embedding spaces an engine needs and its ranking per query type."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from PIL import Image

from search.audio import DecodedAudio
from search.collection import Collection


@dataclass
class Ranking:
    """Item ids with scores, best first, and what the engine learned on the way."""

    scored: list[tuple[int, float]]
    min_score: float
    heard: str | None = None
    notes: list[str] = field(default_factory=list)


class StageTimer:
    """Collects the milliseconds each named stage of a query takes."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - started) * 1000


class Engine(ABC):
    name: str

    @abstractmethod
    def needed(self) -> list[tuple[str, str]]:
        """(item kind, embedding space) pairs this engine searches."""

    @abstractmethod
    def model_roles(self) -> list[str]:
        """Attributes of `ModelSet` this engine loads, for reporting versions."""

    def warm_up(self) -> None:
        """Load every model now, so the first query does not pay for it."""
        for role in self.model_roles():
            getattr(self.models, role)

    @abstractmethod
    def rank_audio(self, collection: Collection, audio: DecodedAudio, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking: ...

    @abstractmethod
    def rank_image(self, collection: Collection, image: Image.Image, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking: ...

    @abstractmethod
    def rank_text(self, collection: Collection, text: str, kind: str, top_k: int,
                  timer: StageTimer) -> Ranking: ...
