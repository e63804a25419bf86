"""Tests of the seed log-mel front end against arrays made by the seed's own code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.audio import decode_audio
from search.logmel import N_FRAMES, N_MELS, SAMPLE_RATE, WINDOW_SAMPLES, logmel, logmel_windows, window_starts

EXACT_FIXTURES = ["silence_16k", "speech_short_16k", "speech_long_16k", "tone_440_16k"]


@pytest.fixture(scope="module")
def logmel_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "seed-logmel"


def reference_and_output(logmel_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    expected = np.load(logmel_dir / f"{name}.logmel.npy")
    samples = decode_audio(logmel_dir / f"{name}.wav", sample_rate=SAMPLE_RATE).samples
    return expected, logmel(samples)


@pytest.mark.parametrize("name", EXACT_FIXTURES)
def test_logmel_matches_seed_16k(logmel_dir: Path, name: str) -> None:
    expected, output = reference_and_output(logmel_dir, name)
    max_diff = float(np.abs(output - expected).max())

    assert output.shape == expected.shape
    assert max_diff <= 1e-4, f"max abs diff {max_diff:.2e} for {name}"


def test_logmel_matches_seed_44k_stereo(logmel_dir: Path) -> None:
    # The seed resampled with a different resampler, so only the mean is close.
    expected, output = reference_and_output(logmel_dir, "speech_short_44k_stereo")
    mean_diff = float(np.abs(output - expected).mean())

    assert mean_diff <= 0.005, f"mean abs diff {mean_diff:.4f}"


def test_logmel_shape_and_dtype() -> None:
    output = logmel(np.zeros(1000, dtype=np.float32))

    assert output.shape == (1, N_MELS, N_FRAMES)
    assert output.dtype == np.float32


def test_logmel_range() -> None:
    samples = np.random.default_rng(0).uniform(-1, 1, SAMPLE_RATE).astype(np.float32)
    output = logmel(samples)

    assert output.min() >= -1.0
    assert output.max() <= 0.5


def test_logmel_ignores_after_7s() -> None:
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, WINDOW_SAMPLES + 8000).astype(np.float32)
    changed = samples.copy()
    changed[WINDOW_SAMPLES:] = 0.0

    assert np.array_equal(logmel(samples), logmel(changed))


def test_logmel_rejects_stereo_array() -> None:
    with pytest.raises(ValueError, match="expected 1-D mono samples"):
        logmel(np.zeros((2, 16000), dtype=np.float32))


def test_windows_short_recording_is_one() -> None:
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * SAMPLE_RATE).astype(np.float32)
    windows = logmel_windows(samples)

    assert windows.shape == (1, 1, N_MELS, N_FRAMES)
    assert np.array_equal(windows[0], logmel(samples))


def test_windows_exactly_7s_is_one() -> None:
    assert logmel_windows(np.zeros(WINDOW_SAMPLES, dtype=np.float32)).shape[0] == 1


def test_windows_20s_cover_recording() -> None:
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 20 * SAMPLE_RATE).astype(np.float32)
    windows = logmel_windows(samples, hop_seconds=3.5)

    # Windows start at 0, 3.5, 7, 10.5 and 14 s; the last one reaches 21 s.
    assert windows.shape == (5, 1, N_MELS, N_FRAMES)
    assert np.array_equal(windows[0], logmel(samples))
    assert np.array_equal(windows[4], logmel(samples[14 * SAMPLE_RATE :]))


def test_window_starts_reach_end() -> None:
    starts = window_starts(20 * SAMPLE_RATE, hop=56000)

    assert starts == [0, 56000, 112000, 168000, 224000]
    assert starts[-1] + WINDOW_SAMPLES >= 20 * SAMPLE_RATE
    assert starts[-2] + WINDOW_SAMPLES < 20 * SAMPLE_RATE


def test_window_starts_one_sample_over() -> None:
    assert window_starts(WINDOW_SAMPLES + 1, hop=56000) == [0, 56000]


def test_windows_reject_bad_hop() -> None:
    with pytest.raises(ValueError, match="hop_seconds must be positive"):
        logmel_windows(np.zeros(16000, dtype=np.float32), hop_seconds=0)
