"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

# Reference recordings, images and expected arrays live next to the repository.
SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Return the folder of shared test fixtures, skipping the test when it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared fixtures folder {SHARED_DIR.resolve()} is absent")
    return SHARED_DIR.resolve()


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def telegram_dir(shared_dir: Path) -> Path:
    """Return the folder of voice notes and photos encoded as Telegram clients send them."""
    return shared_dir / "fixtures" / "telegram"


@pytest.fixture(scope="session")
def random_seed_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Save randomly initialised seed towers, because the published weights are not available offline."""
    import torch

    from search.seed_weights import AUDIO_WEIGHTS_FILE, IMAGE_WEIGHTS_FILE, SeedTower

    folder = tmp_path_factory.mktemp("random_seed_weights")
    torch.manual_seed(1234)
    torch.save(SeedTower().state_dict(), folder / AUDIO_WEIGHTS_FILE)
    torch.save(SeedTower().state_dict(), folder / IMAGE_WEIGHTS_FILE)
    return folder


@pytest.fixture(scope="session")
def models(random_seed_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    """Return one set of encoders shared by every small temporary collection, so each model loads once per session.

    The seed towers are the random ones of `random_seed_weights`, and the
    other encoders are the packaged ones.
    """
    from search.config import Settings
    from search.models import ModelSet

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("models_data"),
        engine="cascade",
        seed_weights=random_seed_weights,
        verify_seed_weights=False,
        threads=2,
    )
    return ModelSet(settings)


@pytest.fixture(scope="session")
def demo_service():
    """Open the demo collection with the cascade engine, from the index cached in the repository's var/.

    The first run on a machine builds that index, which takes several minutes
    on two cores. Later runs, the bot tests included, reuse it.
    """
    from search.config import Settings
    from search.service import SearchService

    service = SearchService.open(Settings.from_env(data_dir=REPO_ROOT / "var", engine="cascade"), progress=False)
    yield service
    service.close()


@pytest.fixture(scope="session")
def sample_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a folder of three drawn pictures and one spoken caption, which tests copy before changing.

    red_circle.png has a sidecar caption and pairs with red_circle.wav, which
    espeak-ng speaks as "a red circle".
    """
    import shutil
    import subprocess

    from PIL import Image, ImageDraw

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed, so no spoken caption can be made")
    folder = tmp_path_factory.mktemp("sample_media")

    circle = Image.new("RGB", (160, 120), "white")
    ImageDraw.Draw(circle).ellipse((40, 20, 120, 100), fill=(220, 20, 20))
    circle.save(folder / "red_circle.png")
    (folder / "red_circle.txt").write_text("A red circle.\n", encoding="utf-8")

    square = Image.new("RGB", (128, 128), "white")
    ImageDraw.Draw(square).rectangle((24, 24, 104, 104), fill=(20, 40, 220))
    square.save(folder / "blue_square.jpg", quality=90)

    triangle = Image.new("RGB", (140, 140), (250, 250, 240))
    ImageDraw.Draw(triangle).polygon([(70, 10), (130, 130), (10, 130)], fill=(30, 170, 40))
    triangle.save(folder / "green_triangle.png")

    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(folder / "red_circle.wav"), "a red circle"],
        check=True, capture_output=True, timeout=60,
    )
    return folder
