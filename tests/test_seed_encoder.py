"""Tests of the seed towers: architecture, weight checks and embeddings.

The published weights cannot be fetched here, so the tests save randomly
initialised towers of the same architecture and load those.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from search.encoders.seed import SeedEncoders
from search.errors import WeightsError
from search.logmel import SAMPLE_RATE, logmel_windows
from search.seed_weights import (
    AUDIO_WEIGHTS_FILE,
    IMAGE_WEIGHTS_FILE,
    PUBLISHED_BLOB_IDS,
    SeedTower,
    git_blob_id,
    load_tower,
)


def save_random_weights(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(SeedTower().state_dict(), folder / AUDIO_WEIGHTS_FILE)
    torch.save(SeedTower().state_dict(), folder / IMAGE_WEIGHTS_FILE)
    return folder


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_weights(tmp_path_factory.mktemp("seed_weights"))


@pytest.fixture(scope="session")
def encoders(weights_dir: Path) -> SeedEncoders:
    return SeedEncoders.load(weights_dir, verify=False, threads=2)


def test_architecture_matches_published_names(shared_dir: Path) -> None:
    expected = json.loads((shared_dir / "spec" / "seed-encoder-state-dict.json").read_text())
    found = {name: list(tensor.shape) for name, tensor in SeedTower().state_dict().items()}

    assert len(found) == 122
    assert list(found) == list(expected)
    assert found == expected


def test_git_blob_id_matches_git(tmp_path: Path) -> None:
    path = tmp_path / "sample.bin"
    path.write_bytes(b"hello seed\n\x00\xff")
    git_output = subprocess.run(
        ["git", "hash-object", "--no-filters", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert git_blob_id(path) == git_output


def test_git_blob_id_of_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")

    # Git's well-known id of the empty blob.
    assert git_blob_id(path) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_load_unverified_is_strict_and_eval(weights_dir: Path) -> None:
    tower = load_tower(weights_dir / AUDIO_WEIGHTS_FILE, repeat_channel=True, verify=False)
    saved = torch.load(weights_dir / AUDIO_WEIGHTS_FILE, weights_only=True)

    assert tower.training is False
    assert torch.equal(tower.state_dict()["backbone.fc.weight"], saved["backbone.fc.weight"])


def test_load_verified_rejects_other_blob_id(weights_dir: Path) -> None:
    found = git_blob_id(weights_dir / AUDIO_WEIGHTS_FILE)
    expected = PUBLISHED_BLOB_IDS[AUDIO_WEIGHTS_FILE]

    with pytest.raises(WeightsError) as caught:
        SeedEncoders.load(weights_dir, verify=True)
    message = str(caught.value)

    assert f"The git blob id of {AUDIO_WEIGHTS_FILE} is {found}" in message
    assert f"differs from the published {expected}" in message
    assert "allow modified weights" in message


def test_load_rejects_missing_file(tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    torch.save(SeedTower().state_dict(), folder / AUDIO_WEIGHTS_FILE)

    with pytest.raises(WeightsError) as caught:
        SeedEncoders.load(folder, verify=False)
    message = str(caught.value)

    assert f"The seed weights file {IMAGE_WEIGHTS_FILE} is missing" in message
    assert f"must contain {AUDIO_WEIGHTS_FILE} and {IMAGE_WEIGHTS_FILE}" in message


def test_load_rejects_wrong_shape(tmp_path: Path) -> None:
    state_dict = SeedTower().state_dict()
    state_dict["backbone.fc.weight"] = torch.zeros(128, 512)
    path = tmp_path / AUDIO_WEIGHTS_FILE
    torch.save(state_dict, path)

    with pytest.raises(
        WeightsError,
        match=r"tensor backbone\.fc\.weight has shape \(128, 512\), expected \(256, 512\)",
    ):
        load_tower(path, repeat_channel=True, verify=False)


def test_load_rejects_missing_key(tmp_path: Path) -> None:
    state_dict = SeedTower().state_dict()
    del state_dict["backbone.layer3.1.bn2.running_var"]
    path = tmp_path / IMAGE_WEIGHTS_FILE
    torch.save(state_dict, path)

    with pytest.raises(
        WeightsError,
        match=r"tensor backbone\.layer3\.1\.bn2\.running_var \(expected shape \(256\)\) is missing",
    ):
        load_tower(path, repeat_channel=False, verify=False)


def test_load_rejects_unexpected_key(tmp_path: Path) -> None:
    state_dict = SeedTower().state_dict()
    state_dict["backbone.fc2.weight"] = torch.zeros(3, 3)
    path = tmp_path / IMAGE_WEIGHTS_FILE
    torch.save(state_dict, path)

    with pytest.raises(WeightsError, match=r"unexpected tensor backbone\.fc2\.weight with shape \(3, 3\)"):
        load_tower(path, repeat_channel=False, verify=False)


def test_load_rejects_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / AUDIO_WEIGHTS_FILE
    path.write_bytes(b"<html>404 Not Found</html>")

    with pytest.raises(WeightsError, match=f"{AUDIO_WEIGHTS_FILE} could not be read as a PyTorch state dict"):
        load_tower(path, repeat_channel=True, verify=False)


def test_load_rejects_truncated_file(weights_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / AUDIO_WEIGHTS_FILE
    path.write_bytes((weights_dir / AUDIO_WEIGHTS_FILE).read_bytes()[:100_000])

    with pytest.raises(WeightsError, match="could not be read as a PyTorch state dict"):
        load_tower(path, repeat_channel=True, verify=False)


def test_load_rejects_non_state_dict(tmp_path: Path) -> None:
    path = tmp_path / AUDIO_WEIGHTS_FILE
    torch.save([1, 2, 3], path)

    with pytest.raises(WeightsError, match="does not contain a PyTorch state dict of tensors"):
        load_tower(path, repeat_channel=True, verify=False)


def test_embed_logmels_shape_and_norm(encoders: SeedEncoders) -> None:
    batch = np.random.default_rng(0).uniform(-1, 0, (3, 1, 128, 701)).astype(np.float32)

    embeddings = encoders.embed_logmels(batch)

    assert embeddings.shape == (3, 256)
    assert embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_embed_images_shape_and_norm(encoders: SeedEncoders) -> None:
    batch = torch.randn(2, 3, 224, 224)

    embeddings = encoders.embed_images(batch)

    assert embeddings.shape == (2, 256)
    assert embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_embed_images_batches_consistently(encoders: SeedEncoders) -> None:
    batch = torch.randn(18, 3, 64, 64)
    batch = torch.nn.functional.interpolate(batch, size=(224, 224))

    together = encoders.embed_images(batch)
    alone = encoders.embed_images(batch[17:])

    assert together.shape == (18, 256)
    assert np.allclose(together[17], alone[0], atol=1e-5)


def test_embed_images_empty_batch(encoders: SeedEncoders) -> None:
    assert encoders.embed_images(torch.zeros(0, 3, 224, 224)).shape == (0, 256)


def test_embed_images_rejects_wrong_shape(encoders: SeedEncoders) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 3, 224, 224\), got \(3, 224, 224\)"):
        encoders.embed_images(torch.zeros(3, 224, 224))


def test_embed_logmels_rejects_wrong_shape(encoders: SeedEncoders) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 1, 128, 701\), got \(1, 128, 700\)"):
        encoders.embed_logmels(np.zeros((1, 128, 700), dtype=np.float32))


def test_embed_audio_windows_pools_20s(encoders: SeedEncoders) -> None:
    samples = np.random.default_rng(1).uniform(-0.3, 0.3, 20 * SAMPLE_RATE).astype(np.float32)
    windows = logmel_windows(samples)

    pooled = encoders.embed_audio_windows(windows)
    per_window = encoders.embed_logmels(windows)
    mean = per_window.mean(axis=0)

    assert windows.shape[0] == 5
    assert pooled.shape == (256,)
    assert np.linalg.norm(pooled) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(pooled, mean / np.linalg.norm(mean), atol=1e-5)


def test_embed_audio_windows_single(encoders: SeedEncoders) -> None:
    windows = logmel_windows(np.zeros(SAMPLE_RATE, dtype=np.float32))

    pooled = encoders.embed_audio_windows(windows)

    assert np.allclose(pooled, encoders.embed_logmels(windows)[0], atol=1e-6)


def test_embed_audio_windows_rejects_empty(encoders: SeedEncoders) -> None:
    with pytest.raises(ValueError, match="at least one log-mel window"):
        encoders.embed_audio_windows(np.zeros((0, 1, 128, 701), dtype=np.float32))
