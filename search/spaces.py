"""Embedding spaces: which encoder places which kind of item, and how.

- `text`: the sentence encoder. A picture's text is its caption and its top
  ImageNet classes (weighted by probability); a spoken caption's text is its
  transcript. Voice queries reach this space through their transcript.
- `visual`: EfficientNet-Lite0's pooled features of pictures, for picture
  queries.
- `seed`: the research team's 256-d space shared by both towers.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from search.errors import SearchError
from search.models import ModelSet
from search.store import Item

logger = logging.getLogger(__name__)

SPACES = ("text", "visual", "seed")

# Weight of the ImageNet classes against a caption in a picture's text vector.
# Captions are written by people and name what matters; classes only help
# when the caption is missing or uses another word for the same thing.
LABEL_WEIGHT = 0.5

IMAGE_BATCH = 32


@dataclass
class Encoded:
    """Vectors for the items that encoded, and the reason for each that did not."""

    item_ids: list[int] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def matrix(self, dim: int) -> np.ndarray:
        if not self.vectors:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack(self.vectors).astype(np.float32)


def space_dim(models: ModelSet, space: str) -> int:
    if space == "text":
        return models.text.dim
    if space == "visual":
        return models.vision.feature_dim
    if space == "seed":
        return 256
    raise ValueError(f"unknown embedding space {space!r}")


def space_signature(models: ModelSet, space: str) -> str:
    """Name the encoder (and the recipe) behind a space's vectors; a change invalidates an index."""
    if space == "text":
        return f"{models.text.version}; label weight {LABEL_WEIGHT}"
    if space == "visual":
        return models.vision.version
    if space == "seed":
        return models.seed.version
    raise ValueError(f"unknown embedding space {space!r}")


def transcribe_file(models: ModelSet, path: str) -> str:
    """Transcribe a spoken caption, returning "" when it contains no speech.

    Raises SearchError when the file cannot be decoded.
    """
    from search.audio import decode_audio, is_silent

    audio = decode_audio(path, 16000, models.settings.max_audio_seconds)
    if is_silent(audio.samples, audio.sample_rate):
        return ""
    return models.recognizer.transcribe(audio.samples).text


def labels_vector(models: ModelSet, labels: list[tuple[str, float]]) -> np.ndarray | None:
    """Probability-weighted mean of the class names' text embeddings, normalised."""
    if not labels:
        return None
    names = [name for name, _ in labels]
    weights = np.asarray([prob for _, prob in labels], dtype=np.float32)
    vectors = models.text.embed(names)
    return _unit((vectors * weights[:, None]).sum(axis=0))


def item_text_vectors(models: ModelSet, items: list[Item]) -> Encoded:
    result = Encoded()
    for item in items:
        vector = _item_text_vector(models, item)
        if vector is None:
            result.failures.append((item.path, "it has no caption, transcript or class labels to embed"))
            continue
        result.item_ids.append(item.item_id)
        result.vectors.append(vector)
    return result


def _item_text_vector(models: ModelSet, item: Item) -> np.ndarray | None:
    if item.kind == "speech":
        text = item.transcript or item.caption
        return models.text.embed([text])[0] if text else None

    from_labels = labels_vector(models, [tuple(pair) for pair in item.labels])
    if not item.caption:
        return from_labels
    from_caption = models.text.embed([item.caption])[0]
    if from_labels is None:
        return from_caption
    return _unit(from_caption + LABEL_WEIGHT * from_labels)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def load_images(paths: list[str], max_pixels: int, prepare=None, workers: int = 2):
    """Decode pictures in parallel threads (Pillow releases the GIL); yield (path, image or error).

    `prepare`, when given, turns each picture into the encoder's input in the same thread.
    """
    from search.image import load_image

    def load(path: str):
        try:
            image = load_image(path, max_pixels)
            return path, prepare(image) if prepare is not None else image
        except SearchError as error:
            return path, error
        except OSError as error:
            return path, SearchError(f"The file could not be read: {error.strerror or error}.")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(load, paths)


def _image_vectors(models: ModelSet, items: list[Item], prepare, encode) -> Encoded:
    """Decode pictures in parallel, `prepare` each into a tensor, and `encode` them in batches."""
    result = Encoded()
    for start in range(0, len(items), IMAGE_BATCH):
        chunk = items[start:start + IMAGE_BATCH]
        tensors, ids = [], []
        loaded = load_images([i.path for i in chunk], models.settings.max_image_pixels, prepare)
        for item, (path, tensor) in zip(chunk, loaded):
            if isinstance(tensor, SearchError):
                result.failures.append((path, str(tensor)))
                continue
            tensors.append(tensor)
            ids.append(item.item_id)
        if tensors:
            result.item_ids.extend(ids)
            result.vectors.extend(encode(torch.stack(tensors)))
    return result


def seed_image_vectors(models: ModelSet, items: list[Item]) -> Encoded:
    from search.image import seed_image_tensor

    return _image_vectors(models, items, seed_image_tensor, models.seed.embed_images)


def seed_speech_vectors(models: ModelSet, items: list[Item]) -> Encoded:
    from search.audio import decode_audio
    from search.logmel import SAMPLE_RATE, logmel_windows

    result = Encoded()
    for item in items:
        try:
            audio = decode_audio(item.path, SAMPLE_RATE, models.settings.max_audio_seconds)
        except SearchError as error:
            result.failures.append((item.path, str(error)))
            continue
        result.item_ids.append(item.item_id)
        result.vectors.append(models.seed.embed_audio_windows(logmel_windows(audio.samples)))
    return result


def visual_vectors(models: ModelSet, items: list[Item]) -> Encoded:
    """Pooled EfficientNet-Lite0 features; used when an index lost vectors its metadata still lists."""
    return _image_vectors(models, items, models.vision.preprocess, lambda batch: models.vision.encode(batch)[0])


def encode_items(models: ModelSet, space: str, kind: str, items: list[Item]) -> Encoded:
    """Compute `space` vectors for stored items of one kind from their files and metadata."""
    if space == "text":
        return item_text_vectors(models, items)
    if space == "visual" and kind == "image":
        return visual_vectors(models, items)
    if space == "seed" and kind == "image":
        return seed_image_vectors(models, items)
    if space == "seed" and kind == "speech":
        return seed_speech_vectors(models, items)
    raise ValueError(f"no encoder places {kind} items in the {space} space")


def source_exists(item: Item) -> bool:
    return Path(item.path).is_file()
