"""The set of loaded models an engine uses, each loaded once on first need.

Loading takes seconds (Whisper, the sentence encoder, EfficientNet-Lite0,
the seed towers), so a `ModelSet` loads each model on first use and keeps it,
and an engine touches only the models it needs. Services that share one
`ModelSet` share its models.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from pathlib import Path

from search.config import Settings
from search.errors import ConfigurationError

logger = logging.getLogger(__name__)


class ModelSet:
    """Lazily loaded encoders configured by `Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    def _timed(self, what: str, load):
        with self._lock:
            started = time.perf_counter()
            model = load()
            logger.info("loaded %s in %.1f s", what, time.perf_counter() - started)
            return model

    @cached_property
    def recognizer(self):
        from search.encoders.speech_to_text import (
            SpeechRecognizer,
            default_whisper_model_dir,
            whisper_base_model_dir,
        )

        configured = self.settings.whisper_model
        if configured is None:
            model_dir = default_whisper_model_dir()
        elif str(configured) == "base":
            model_dir = whisper_base_model_dir(self.settings.data_dir / "models")
        else:
            model_dir = configured
        return self._timed(f"Whisper from {model_dir}", lambda: SpeechRecognizer(model_dir, self.settings.threads))

    @cached_property
    def text(self):
        from search.encoders.text import TextEncoder, default_text_model_dir

        model_dir = self.settings.text_model or default_text_model_dir()
        return self._timed(f"sentence encoder from {model_dir}", lambda: TextEncoder(model_dir))

    @cached_property
    def vision(self):
        from search.encoders.vision import VisionEncoder, default_vision_weights

        weights = self.settings.vision_weights or default_vision_weights()
        return self._timed(f"EfficientNet-Lite0 from {weights}", lambda: VisionEncoder(weights, self.settings.threads))

    @cached_property
    def seed(self):
        from search.encoders.seed import SeedEncoders

        folder = self.settings.seed_weights
        if folder is None:
            raise ConfigurationError(
                "The seed engine needs the research encoder weights: set SAYSEE_SEED_WEIGHTS to the folder "
                "that holds audio_encoder_weights.pt and image_encoder_weights.pt."
            )
        return self._timed(
            f"seed encoders from {folder}",
            lambda: SeedEncoders.load(Path(folder), verify=self.settings.verify_seed_weights,
                                      threads=self.settings.threads),
        )

    def versions(self, roles: list[str]) -> dict[str, str]:
        return {role: getattr(self, role).version for role in roles}
