"""Value types returned by a query: what was searched, what was heard, what was found."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One ranked item of a query's results."""

    rank: int
    item_id: int
    kind: str  # "image" or "speech"
    path: str
    score: float
    caption: str | None
    transcript: str | None


@dataclass
class QueryResult:
    """Results of one query, with the numbers a caller needs to present them.

    `min_score` is the engine's confidence floor: hits below it are kept in
    `results` for researchers, but `confident_results()` leaves them out, so a
    chat user is not shown unrelated items.
    """

    engine: str
    collection: str
    query: dict[str, Any]
    heard: str | None
    results: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    min_score: float = 0.0
    notes: list[str] = field(default_factory=list)

    def confident_results(self) -> list[Hit]:
        return [hit for hit in self.results if hit.score >= self.min_score]

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "collection": self.collection,
            "query": self.query,
            "heard": self.heard,
            "results": [asdict(hit) for hit in self.results],
            "timings_ms": {stage: round(ms, 2) for stage, ms in self.timings_ms.items()},
            "min_score": self.min_score,
            "notes": self.notes,
        }
