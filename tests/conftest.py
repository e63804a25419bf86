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
