"""Architecture and weight files of the seed encoders.

The research team published two ResNet-18 towers, one for log-mel
spectrograms and one for photos, as plain `torch.save` state dicts. A file
is checked against its published git blob id before it is loaded, so a
truncated download or a file from another model is rejected with a clear
message instead of giving silently wrong search results. Fine-tuned weights
differ from the published ones by design, so the check can be turned off;
the state dict must still fit the architecture exactly.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet18

from search.errors import WeightsError

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 256

AUDIO_WEIGHTS_FILE = "audio_encoder_weights.pt"
IMAGE_WEIGHTS_FILE = "image_encoder_weights.pt"

# Git blob ids of the files in the research team's repository
# (ByteFuse/indabax-2021, folder llama-challenge/model_weights/).
PUBLISHED_BLOB_IDS = {
    AUDIO_WEIGHTS_FILE: "2bc001ed71af24389637cad30eaa6a3c0f87f4b4",
    IMAGE_WEIGHTS_FILE: "0adfc973a305d5031f6ad5d6239d830d6ea02438",
}

_LAYOUT_HINT = (
    f"The seed weights folder must contain {AUDIO_WEIGHTS_FILE} and {IMAGE_WEIGHTS_FILE}, "
    "the two files of llama-challenge/model_weights/ in the ByteFuse/indabax-2021 repository."
)


class SeedTower(nn.Module):
    """One seed tower: a ResNet-18 whose last layer maps to a 256-dimensional embedding.

    `backbone` is the only submodule, so state-dict names start with
    "backbone." as in the published files. With `repeat_channel`, a
    one-channel log-mel is repeated to the three channels ResNet-18 expects.
    """

    def __init__(self, repeat_channel: bool = False) -> None:
        super().__init__()
        self.repeat_channel = repeat_channel
        self.backbone = resnet18(weights=None)
        self.backbone.fc = nn.Linear(512, EMBEDDING_DIM)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if self.repeat_channel:
            batch = batch.repeat(1, 3, 1, 1)
        return nn.functional.normalize(self.backbone(batch), dim=1)


def git_blob_id(path: str | Path) -> str:
    """Return the git blob id of a file: SHA-1 of "blob <size>\\0" followed by its bytes."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_tower(path: Path, repeat_channel: bool, verify: bool = True) -> SeedTower:
    """Build a tower and load its weights strictly from `path`, in eval mode.

    With `verify`, the file's git blob id must equal the published one.
    Raises WeightsError for a missing, unreadable, altered or ill-fitting file.
    """
    path = Path(path)
    if not path.is_file():
        logger.error("Seed weights file not found: %s", path)
        raise WeightsError(
            f"The seed weights file {path.name} is missing from the seed weights folder "
            f"(setting SAYSEE_SEED_WEIGHTS). {_LAYOUT_HINT}"
        )
    if verify:
        _verify_blob_id(path)

    state_dict = _read_state_dict(path)
    tower = SeedTower(repeat_channel=repeat_channel)
    _check_fits(path, tower.state_dict(), state_dict)
    tower.load_state_dict(state_dict, strict=True)
    return tower.eval()


def _verify_blob_id(path: Path) -> None:
    expected = PUBLISHED_BLOB_IDS.get(path.name)
    if expected is None:
        raise WeightsError(f"{path.name} is not a seed weights file name. {_LAYOUT_HINT}")
    found = git_blob_id(path)
    if found != expected:
        raise WeightsError(
            f"The git blob id of {path.name} is {found}, which differs from the published "
            f"{expected}, so the file is altered or incomplete. Download it again, or allow "
            "modified weights (for example fine-tuned ones) to load it anyway."
        )


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        # torch.load documents no exception list: a damaged archive raises
        # RuntimeError, a legacy or foreign pickle UnpicklingError, and so on.
        logger.warning("torch.load failed on %s: %s", path, error)
        raise WeightsError(f"{path.name} could not be read as a PyTorch state dict.") from None
    if not isinstance(loaded, dict) or not all(isinstance(value, torch.Tensor) for value in loaded.values()):
        raise WeightsError(f"{path.name} does not contain a PyTorch state dict of tensors.")
    return loaded


def _check_fits(path: Path, expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> None:
    """Raise WeightsError naming the first tensor whose name or shape differs from the architecture."""
    for name, tensor in expected.items():
        if name not in found:
            raise WeightsError(
                f"{path.name} does not fit the seed encoder: tensor {name} "
                f"(expected shape {_shape(tensor)}) is missing."
            )
        if found[name].shape != tensor.shape:
            raise WeightsError(
                f"{path.name} does not fit the seed encoder: tensor {name} has shape "
                f"{_shape(found[name])}, expected {_shape(tensor)}."
            )
    for name, tensor in found.items():
        if name not in expected:
            raise WeightsError(
                f"{path.name} does not fit the seed encoder: unexpected tensor {name} "
                f"with shape {_shape(tensor)}."
            )


def _shape(tensor: torch.Tensor) -> str:
    return "(" + ", ".join(str(size) for size in tensor.shape) + ")"
