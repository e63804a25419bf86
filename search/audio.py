"""Decode recordings of any format into mono float samples, and encode voice notes.

Voice queries arrive as OGG/Opus voice notes, MP3 or M4A uploads and WAV
files. ffmpeg (located the way pydub locates it) decodes all of them. The
channels are mixed by averaging them in NumPy rather than with `-ac 1`,
because ffmpeg's mono downmix is about 3 dB louder than the average and the
seed encoders were trained on averaged audio. Resampling stays in ffmpeg, so
every format goes through the same resampler.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from pydub import AudioSegment
from pydub.exceptions import CouldntEncodeError
from pydub.utils import get_prober_name

from search.errors import AudioDecodeError

logger = logging.getLogger(__name__)

# A stuck ffmpeg must not hold a query forever. A healthy run is far shorter:
# 30 s of an Opus voice note decode in about 0.2 s on two CPU cores.
_FFMPEG_TIMEOUT_S = 120.0

# Frame length and loudness threshold of `is_silent`. In the voice notes and
# WAV files used in the tests, the loudest speech frame is above -16 dBFS and
# silent recordings stay below -90 dBFS, so -45 dBFS leaves room both ways.
_SILENCE_FRAME_S = 0.03
_SILENCE_THRESHOLD_DBFS = -45.0

# Demuxers ffmpeg may use on an input. Without this list, a playlist format
# such as HLS or concat uploaded as a "voice note" would make ffmpeg open other
# files on the server. Names are those of `ffmpeg -formats` (ffmpeg 5.1).
_AUDIO_DEMUXERS = "ogg,mp3,wav,w64,mov,matroska,flac,aac,aiff,caf,amr,asf,wv,ape,au"

# Sample rate that Telegram voice notes use, so a sent voice note needs no resampling.
_VOICE_SAMPLE_RATE = 48000
_VOICE_BITRATE = "32k"


@dataclass(frozen=True)
class DecodedAudio:
    """Mono samples of a recording, possibly cut to a maximum length."""

    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    duration_s: float  # of the whole recording before any cut
    truncated: bool  # True when max_seconds cut it


@dataclass(frozen=True)
class _StreamInfo:
    channels: int
    duration_s: float | None


def decode_audio(
    source: str | Path | bytes,
    sample_rate: int = 16000,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode a recording to mono float32 samples at `sample_rate`.

    `source` is a path or the file's bytes. With `max_seconds`, ffmpeg stops
    decoding shortly after that point, so a long recording costs no more than
    a short one. Raises AudioDecodeError for empty, non-audio or corrupt input.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")

    with _local_file(source) as path:
        info = _probe(path)
        # Decoding a little past the limit shows whether the recording goes on,
        # even when the container does not state its duration.
        limit_s = None if max_seconds is None else max_seconds + 0.1
        interleaved = _decode_pcm(path, sample_rate, limit_s)

    usable = len(interleaved) - len(interleaved) % info.channels
    if usable == 0:
        raise AudioDecodeError("The recording contains no audio samples.")
    mono = interleaved[:usable].reshape(-1, info.channels).mean(axis=1, dtype=np.float32)
    np.clip(mono, -1.0, 1.0, out=mono)

    decoded_s = len(mono) / sample_rate
    truncated = False
    if max_seconds is not None:
        keep = int(round(max_seconds * sample_rate))
        truncated = len(mono) > keep
        mono = mono[:keep]

    if truncated:
        # NOTE: without a duration in the container this is only a lower bound.
        duration_s = max(info.duration_s or 0.0, decoded_s)
    else:
        duration_s = decoded_s
    return DecodedAudio(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        sample_rate=sample_rate,
        duration_s=duration_s,
        truncated=truncated,
    )


def is_silent(samples: np.ndarray, sample_rate: int) -> bool:
    """Return True when no 30 ms frame of the recording is louder than -45 dBFS RMS."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        return True

    frame = max(1, int(round(_SILENCE_FRAME_S * sample_rate)))
    padded_length = math.ceil(samples.size / frame) * frame
    frames = np.zeros(padded_length, dtype=np.float64)
    frames[: samples.size] = samples
    frames = frames.reshape(-1, frame)

    rms = np.sqrt(np.mean(frames**2, axis=1))
    loudest_dbfs = 20.0 * math.log10(max(float(rms.max()), 1e-10))
    return loudest_dbfs < _SILENCE_THRESHOLD_DBFS


def encode_voice_ogg(source: str | Path, dest: str | Path) -> None:
    """Convert an audio file to mono 48 kHz OGG/Opus, the format of Telegram voice notes."""
    decoded = decode_audio(source, sample_rate=_VOICE_SAMPLE_RATE)
    pcm = np.round(decoded.samples * 32767.0).astype("<i2")
    segment = AudioSegment(
        data=pcm.tobytes(),
        sample_width=2,
        frame_rate=_VOICE_SAMPLE_RATE,
        channels=1,
    )
    try:
        # export returns the destination opened for reading, which nothing here needs.
        segment.export(
            str(dest),
            format="ogg",
            codec="libopus",
            bitrate=_VOICE_BITRATE,
            parameters=["-application", "voip"],
        ).close()
    except CouldntEncodeError as error:
        logger.error("ffmpeg could not encode a voice note: %s", error)
        raise AudioDecodeError("The recording could not be encoded as an OGG/Opus voice note.") from None


@contextmanager
def _local_file(source: str | Path | bytes) -> Iterator[Path]:
    """Yield a path to the recording, writing in-memory bytes to a temporary file.

    ffmpeg finds the duration of OGG and MP4 files by seeking, which a pipe
    cannot do, so bytes go through a file too.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioDecodeError("The audio file is empty.")
        with tempfile.NamedTemporaryFile(prefix="saysee-audio-") as handle:
            handle.write(source)
            handle.flush()
            yield Path(handle.name)
        return

    path = Path(source)
    if not path.is_file():
        raise AudioDecodeError("The audio file does not exist or is not a regular file.")
    if path.stat().st_size == 0:
        raise AudioDecodeError("The audio file is empty.")
    yield path


def _probe(path: Path) -> _StreamInfo:
    """Read the channel count and duration of the first audio stream with ffprobe."""
    command = [
        get_prober_name(),
        "-v", "error",
        "-format_whitelist", _AUDIO_DEMUXERS,
        "-select_streams", "a:0",
        "-show_entries", "stream=channels,duration:format=duration",
        "-of", "json",
        _ffmpeg_url(path),
    ]
    result = _run(command)
    if result.returncode != 0:
        reason = _last_line(result.stderr)
        logger.info("ffprobe rejected a file: %s", reason)
        # ffprobe 5.1 reaches "End of file" when it recognised a container that
        # ends early or has damaged pages. Other failures ("Invalid data found",
        # or "Invalid argument" for a text file named .mp3 or a demuxer outside
        # _AUDIO_DEMUXERS) mean that no allowed format fits.
        if "End of file" in reason:
            raise AudioDecodeError("The audio is corrupt or truncated, so it could not be decoded.")
        raise AudioDecodeError(
            "The file is not audio in a format ffmpeg can read (for example OGG, MP3, WAV or M4A)."
        )

    try:
        report = json.loads(result.stdout or b"{}")
    except json.JSONDecodeError:
        report = {}
    streams = report.get("streams") or []
    if not streams:
        raise AudioDecodeError("The file contains no audio stream.")

    channels = _to_int(streams[0].get("channels"))
    if not channels:
        raise AudioDecodeError("The audio is corrupt: its stream states no channels.")
    duration_s = _to_float(streams[0].get("duration")) or _to_float(
        (report.get("format") or {}).get("duration")
    )
    return _StreamInfo(channels=channels, duration_s=duration_s)


def _decode_pcm(path: Path, sample_rate: int, limit_s: float | None) -> np.ndarray:
    """Decode the first audio stream to interleaved float32 samples at `sample_rate`."""
    command = [
        AudioSegment.converter,
        "-nostdin", "-hide_banner",
        "-v", "error",
        "-format_whitelist", _AUDIO_DEMUXERS,
        "-i", _ffmpeg_url(path),
        "-map", "0:a:0",
        "-vn",
    ]
    if limit_s is not None:
        command += ["-t", f"{limit_s:.6f}"]
    command += ["-ar", str(sample_rate), "-acodec", "pcm_f32le", "-f", "f32le", "-"]

    result = _run(command)
    if result.returncode != 0:
        logger.info("ffmpeg failed to decode audio: %s", _last_line(result.stderr))
        raise AudioDecodeError("The audio is corrupt or truncated, so it could not be decoded.")
    if result.stderr:
        # ffmpeg keeps what it decoded before damaged packets; the query can still use it.
        logger.info("ffmpeg reported damaged audio: %s", _last_line(result.stderr))

    usable = len(result.stdout) - len(result.stdout) % 4
    return np.frombuffer(result.stdout[:usable], dtype="<f4").astype(np.float32)


def _ffmpeg_url(path: Path) -> str:
    # Without "file:", ffmpeg reads a name such as "pipe:1" or "concat:a|b" as a protocol.
    return f"file:{path.resolve()}"


def _run(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise AudioDecodeError(
            "Audio cannot be decoded because ffmpeg is not installed."
        ) from None
    except subprocess.TimeoutExpired:
        raise AudioDecodeError(
            f"Decoding the audio took longer than {_FFMPEG_TIMEOUT_S:.0f} seconds and was stopped."
        ) from None


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def _to_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _to_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None
