"""Log-mel spectrogram front end of the seed audio encoder.

The seed audio tower was trained on spectrograms made with librosa 0.8.1, so
this module rebuilds that computation step by step in torch. Any change to a
constant here moves every embedding away from what the trained weights expect.
On 16 kHz WAV files the output matches librosa's to within 1e-4.

Steps, for 16 kHz mono float samples:
1. Cut or zero-pad to 7 s (112,000 samples).
2. Pre-emphasis y[t] - 0.97 * y[t-1]. The first output is 3 * y[0] - y[1]
   because the librosa filter was started from a linearly extrapolated
   sample instead of from 0.97 times it.
3. STFT with a 512-point FFT, a 320-sample periodic Hann window centred in
   it, hop 160, reflect-padded centred frames, magnitude (not power).
4. 128 triangular Slaney-scale mel filters from 40 Hz to 8 kHz, each scaled
   so that its weights sum to 1.
5. 20 * log10(max(1e-5, m)), raised to at least (max - 80 dB), floored at
   -80 dB and divided by 80, so values lie in [-1, about 0.3].
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 112000  # 7 s
N_MELS = 128
N_FRAMES = 701  # 1 + WINDOW_SAMPLES // HOP_LENGTH with centred frames

N_FFT = 512
WIN_LENGTH = 320
HOP_LENGTH = 160
F_MIN = 40.0
F_MAX = 8000.0
PREEMPHASIS = 0.97
AMPLITUDE_FLOOR = 1e-5
TOP_DB = 80.0


def logmel(samples: np.ndarray) -> np.ndarray:
    """Compute the `(1, 128, 701)` float32 log-mel input of the first 7 s of 16 kHz mono samples."""
    window = _fit_window(_as_mono(samples))
    return _logmel_of_window(window)[np.newaxis]


def logmel_windows(samples: np.ndarray, hop_seconds: float = 3.5) -> np.ndarray:
    """Compute log-mels of overlapping 7 s windows covering the whole recording.

    Returns `(W, 1, 128, 701)`. A recording of at most 7 s gives one window.
    A longer one gives windows starting every `hop_seconds` until a window
    reaches the end; the last window is zero-padded. The seed engine embeds
    each window and averages the normalised embeddings.
    """
    if hop_seconds <= 0:
        raise ValueError(f"hop_seconds must be positive, got {hop_seconds}")
    samples = _as_mono(samples)

    hop = max(1, int(round(hop_seconds * SAMPLE_RATE)))
    starts = window_starts(len(samples), hop)
    windows = [_logmel_of_window(_fit_window(samples[start : start + WINDOW_SAMPLES])) for start in starts]
    return np.stack(windows)[:, np.newaxis]


def window_starts(n_samples: int, hop: int) -> list[int]:
    """Return the first sample of each 7 s window, `hop` samples apart, covering `n_samples`."""
    if n_samples <= WINDOW_SAMPLES:
        return [0]
    count = 1 + math.ceil((n_samples - WINDOW_SAMPLES) / hop)
    return [index * hop for index in range(count)]


def _as_mono(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected 1-D mono samples, got an array of shape {samples.shape}")
    return samples


def _fit_window(samples: np.ndarray) -> np.ndarray:
    window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    head = samples[:WINDOW_SAMPLES]
    window[: len(head)] = head
    return window


def _logmel_of_window(window: np.ndarray) -> np.ndarray:
    """Turn exactly WINDOW_SAMPLES samples into a `(128, 701)` float32 log-mel."""
    signal = torch.from_numpy(window).to(torch.float64)
    emphasised = _preemphasis(signal)

    spectrum = torch.stft(
        emphasised,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        win_length=WIN_LENGTH,
        window=torch.hann_window(WIN_LENGTH, periodic=True, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    mel = _mel_filters() @ spectrum.abs()

    decibels = 20.0 * torch.log10(torch.clamp(mel, min=AMPLITUDE_FLOOR))
    decibels = torch.clamp(decibels, min=float(decibels.max()) - TOP_DB)
    decibels = torch.clamp(decibels, min=-TOP_DB)
    return (decibels / TOP_DB).to(torch.float32).numpy()


def _preemphasis(signal: torch.Tensor) -> torch.Tensor:
    emphasised = torch.empty_like(signal)
    emphasised[1:] = signal[1:] - PREEMPHASIS * signal[:-1]
    emphasised[0] = 3.0 * signal[0] - signal[1]
    return emphasised


@lru_cache(maxsize=1)
def _mel_filters() -> torch.Tensor:
    """Return the `(128, 257)` Slaney mel filter bank with unit L1 norm per filter."""
    filters = torchaudio.functional.melscale_fbanks(
        n_freqs=N_FFT // 2 + 1,
        f_min=F_MIN,
        f_max=F_MAX,
        n_mels=N_MELS,
        sample_rate=SAMPLE_RATE,
        norm=None,
        mel_scale="slaney",
    ).T.to(torch.float64)
    return filters / filters.sum(dim=1, keepdim=True)
