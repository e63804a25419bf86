"""Seed encoders: embed log-mel windows and photos with the two seed towers.

Every embedding is L2-normalised, so the dot product of a speech embedding
and an image embedding is their cosine similarity. A voice note longer than
one 7 s window is embedded window by window, and the normalised window
embeddings are averaged and normalised again. The mean of unit vectors keeps
the direction that most windows share, so a long caption still lands near
the picture it describes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from search.logmel import N_FRAMES, N_MELS
from search.seed_weights import (
    AUDIO_WEIGHTS_FILE,
    EMBEDDING_DIM,
    IMAGE_WEIGHTS_FILE,
    SeedTower,
    git_blob_id,
    load_tower,
)

logger = logging.getLogger(__name__)

# Inputs per forward pass. By estimate, the ResNet-18 activations of one
# (1, 128, 701) log-mel take a few tens of MB, so 16 keep peak memory under a gigabyte.
BATCH_SIZE = 16

_IMAGE_SHAPE = (3, 224, 224)
_LOGMEL_SHAPE = (1, N_MELS, N_FRAMES)


class SeedEncoders:
    """The audio and image towers of the seed model, in eval mode on the CPU."""

    version = "seed-resnet18"

    def __init__(self, audio_tower: SeedTower, image_tower: SeedTower, threads: int | None = None) -> None:
        self.audio_tower = audio_tower.eval()
        self.image_tower = image_tower.eval()
        if threads is not None:
            # torch has one intra-op thread pool per process, so this applies to every model in it.
            torch.set_num_threads(max(1, threads))

    @classmethod
    def load(cls, folder: Path, verify: bool = True, threads: int | None = None) -> "SeedEncoders":
        """Load both towers from `folder`; see `search.seed_weights.load_tower` for the checks and errors."""
        folder = Path(folder)
        audio_tower = load_tower(folder / AUDIO_WEIGHTS_FILE, repeat_channel=True, verify=verify)
        image_tower = load_tower(folder / IMAGE_WEIGHTS_FILE, repeat_channel=False, verify=verify)
        logger.info("Loaded seed encoders (weights verified: %s)", verify)
        encoders = cls(audio_tower, image_tower, threads=threads)
        # The blob ids name the exact weights, so indexes built with other (fine-tuned) weights are detected.
        audio_id = git_blob_id(folder / AUDIO_WEIGHTS_FILE)[:12]
        image_id = git_blob_id(folder / IMAGE_WEIGHTS_FILE)[:12]
        encoders.version = f"seed-resnet18:audio {audio_id}, image {image_id}"
        return encoders

    def embed_logmels(self, batch: np.ndarray) -> np.ndarray:
        """Embed `(N, 1, 128, 701)` log-mels as `(N, 256)` float32 unit vectors."""
        tensor = torch.as_tensor(np.asarray(batch, dtype=np.float32))
        _check_shape(tensor, _LOGMEL_SHAPE, "log-mel")
        return self._embed(self.audio_tower, tensor)

    def embed_audio_windows(self, windows: np.ndarray) -> np.ndarray:
        """Embed the `(W, 1, 128, 701)` windows of one recording as a single `(256,)` unit vector."""
        per_window = self.embed_logmels(windows)
        if len(per_window) == 0:
            raise ValueError("expected at least one log-mel window, got none")
        return _normalise(per_window.mean(axis=0))

    def embed_images(self, batch: torch.Tensor) -> np.ndarray:
        """Embed `(N, 3, 224, 224)` seed image tensors as `(N, 256)` float32 unit vectors."""
        tensor = torch.as_tensor(batch, dtype=torch.float32)
        _check_shape(tensor, _IMAGE_SHAPE, "image")
        return self._embed(self.image_tower, tensor)

    def _embed(self, tower: SeedTower, batch: torch.Tensor) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)

        with torch.inference_mode():
            parts = [tower(batch[start : start + BATCH_SIZE]) for start in range(0, len(batch), BATCH_SIZE)]
        # The towers normalise their outputs already.
        return torch.cat(parts).numpy().astype(np.float32)


def _check_shape(batch: torch.Tensor, item_shape: tuple[int, ...], kind: str) -> None:
    if batch.ndim != len(item_shape) + 1 or tuple(batch.shape[1:]) != item_shape:
        expected = ", ".join(str(size) for size in item_shape)
        raise ValueError(f"expected a batch of {kind} inputs of shape (N, {expected}), got {tuple(batch.shape)}")


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        # NOTE: a zero vector has no direction; it is returned as zeros and ranks nothing.
        return vector.astype(np.float32)
    return (vector / norm).astype(np.float32)
