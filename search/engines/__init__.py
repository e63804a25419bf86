"""Engines: the ways a query is turned into a ranking of a collection's items.

- `cascade` (speech → text → sentence embeddings, pictures → ImageNet
  classes and features) works with any voice out of the box.
- `seed` uses the research team's two ResNet-18 towers in their shared space.
- `hybrid` fuses the rankings of both.
`auto` picks hybrid when seed weights are configured, else cascade.
"""

from __future__ import annotations

from search.config import Settings
from search.engines.base import Engine
from search.models import ModelSet


def resolve_engine_name(settings: Settings) -> str:
    if settings.engine != "auto":
        return settings.engine
    return "hybrid" if settings.seed_weights is not None else "cascade"


def create_engine(name: str, models: ModelSet) -> Engine:
    from search.engines.cascade import CascadeEngine
    from search.engines.hybrid import HybridEngine
    from search.engines.seed import SeedEngine

    if name == "cascade":
        return CascadeEngine(models)
    if name == "seed":
        return SeedEngine(models)
    if name == "hybrid":
        return HybridEngine(CascadeEngine(models), SeedEngine(models))
    raise ValueError(f"unknown engine {name!r}")
