"""Tests of audio decoding, silence detection and voice-note encoding."""

from __future__ import annotations

import io
import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from search.audio import DecodedAudio, decode_audio, encode_voice_ogg, is_silent
from search.errors import AudioDecodeError

SPEECH_FIXTURES = [
    "seed-logmel/speech_short_16k.wav",
    "seed-logmel/speech_long_16k.wav",
    "seed-logmel/speech_short_44k_stereo.wav",
    "telegram/voice_dog_on_beach.ogg",
    "telegram/voice_fire_truck.ogg",
    "telegram/voice_red_apple.ogg",
    "telegram/voice_long_rambling.ogg",
    "telegram/audio_horse.mp3",
]
SILENT_FIXTURES = ["telegram/voice_silence_3s.ogg", "seed-logmel/silence_16k.wav"]


@pytest.fixture(scope="module")
def fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


def write_wav(path: Path, channels: np.ndarray, sample_rate: int) -> Path:
    """Write `(n_channels, n_samples)` floats in [-1, 1] as 16-bit PCM WAV."""
    pcm = np.round(np.clip(channels, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(pcm.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.T.tobytes())
    return path


def sine(seconds: float, sample_rate: int, frequency: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def probe(path: Path) -> dict:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
         "-of", "json", str(path)],
        capture_output=True, check=True,
    ).stdout
    return json.loads(output)["streams"][0]


def test_decode_wav_16k_keeps_samples(fixtures: Path) -> None:
    path = fixtures / "seed-logmel/speech_short_16k.wav"
    with wave.open(str(path)) as handle:
        expected = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2") / 32768.0

    decoded = decode_audio(path)

    assert isinstance(decoded, DecodedAudio)
    assert decoded.sample_rate == 16000
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.shape == expected.shape
    assert np.abs(decoded.samples - expected).max() < 1e-6
    assert decoded.duration_s == pytest.approx(len(expected) / 16000)
    assert decoded.truncated is False


def test_decode_stereo_44k_resamples_to_16k(fixtures: Path) -> None:
    decoded = decode_audio(fixtures / "seed-logmel/speech_short_44k_stereo.wav")

    assert decoded.sample_rate == 16000
    assert decoded.samples.ndim == 1
    assert decoded.duration_s == pytest.approx(2.3703, abs=0.001)
    assert abs(len(decoded.samples) - round(2.37034 * 16000)) <= 2


def test_decode_averages_channels(tmp_path: Path) -> None:
    left = sine(1.0, 16000, amplitude=0.5)
    path = write_wav(tmp_path / "left_only.wav", np.stack([left, np.zeros_like(left)]), 16000)

    decoded = decode_audio(path)

    # The average of a 0.5 sine and silence peaks at 0.25; ffmpeg's -ac 1 would give about 0.35.
    assert decoded.samples.max() == pytest.approx(0.25, abs=0.001)


def test_decode_opposite_channels_cancel(tmp_path: Path) -> None:
    left = sine(1.0, 16000)
    path = write_wav(tmp_path / "opposite.wav", np.stack([left, -left]), 16000)

    decoded = decode_audio(path)

    assert np.abs(decoded.samples).max() < 1e-4


def test_decode_resamples_tone_keeps_pitch(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "tone_48k.wav", sine(1.0, 48000, frequency=1000.0)[np.newaxis], 48000)

    decoded = decode_audio(path, sample_rate=16000)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(decoded.samples)

    assert len(decoded.samples) == 16000
    assert peak_hz == pytest.approx(1000.0, abs=2.0)


@pytest.mark.parametrize("name", SPEECH_FIXTURES + SILENT_FIXTURES)
def test_decode_fixture_in_range(fixtures: Path, name: str) -> None:
    decoded = decode_audio(fixtures / name, max_seconds=30)

    assert decoded.samples.size > 0
    assert decoded.samples.dtype == np.float32
    assert np.abs(decoded.samples).max() <= 1.0


def test_decode_bytes_equals_path(fixtures: Path) -> None:
    path = fixtures / "telegram/voice_red_apple.ogg"

    from_path = decode_audio(path)
    from_bytes = decode_audio(path.read_bytes())

    assert np.array_equal(from_path.samples, from_bytes.samples)
    assert from_bytes.duration_s == from_path.duration_s


def test_decode_max_seconds_truncates(fixtures: Path) -> None:
    decoded = decode_audio(fixtures / "telegram/voice_long_rambling.ogg", max_seconds=5)

    assert len(decoded.samples) == 5 * 16000
    assert decoded.truncated is True
    assert decoded.duration_s == pytest.approx(82.688, abs=0.05)


def test_decode_max_seconds_keeps_short(fixtures: Path) -> None:
    decoded = decode_audio(fixtures / "telegram/voice_red_apple.ogg", max_seconds=5)

    assert decoded.truncated is False
    assert decoded.duration_s == pytest.approx(1.64, abs=0.02)
    assert len(decoded.samples) == round(decoded.duration_s * 16000)


def test_decode_max_seconds_exact_length_not_truncated(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "two_seconds.wav", sine(2.0, 16000)[np.newaxis], 16000)

    decoded = decode_audio(path, max_seconds=2.0)

    assert decoded.truncated is False
    assert len(decoded.samples) == 32000


def test_decode_rejects_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ogg"
    path.write_bytes(b"")

    with pytest.raises(AudioDecodeError, match="The audio file is empty"):
        decode_audio(path)


def test_decode_rejects_empty_bytes() -> None:
    with pytest.raises(AudioDecodeError, match="The audio file is empty"):
        decode_audio(b"")


def test_decode_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="does not exist"):
        decode_audio(tmp_path / "absent.ogg")


def test_decode_rejects_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("this is a shopping list, not a recording\n" * 20)

    with pytest.raises(AudioDecodeError, match="The file is not audio in a format ffmpeg can read"):
        decode_audio(path)


def test_decode_rejects_image(fixtures: Path) -> None:
    with pytest.raises(AudioDecodeError, match="The file is not audio in a format ffmpeg can read"):
        decode_audio(fixtures / "telegram/photo_dog_alpha.png")


def test_decode_rejects_video_without_sound(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=16x16:duration=1",
         "-c:v", "mpeg4", str(path)],
        check=True,
    )

    with pytest.raises(AudioDecodeError, match="The file contains no audio stream"):
        decode_audio(path)


def test_decode_rejects_playlist(fixtures: Path, tmp_path: Path) -> None:
    # An HLS playlist must not make ffmpeg read another file from the disk.
    segment = fixtures / "seed-logmel/tone_440_16k.wav"
    playlist = tmp_path / "voice.ogg"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\nfile:{segment}\n#EXT-X-ENDLIST\n"
    )

    with pytest.raises(AudioDecodeError, match="The file is not audio in a format ffmpeg can read"):
        decode_audio(playlist)


def test_decode_reads_protocol_like_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ffmpeg would read the relative name "concat:tone.wav" as its concat protocol.
    write_wav(tmp_path / "concat:tone.wav", sine(0.5, 16000)[np.newaxis], 16000)
    monkeypatch.chdir(tmp_path)

    assert len(decode_audio(Path("concat:tone.wav")).samples) == 8000


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [("m4a", "aac"), ("webm", "libopus"), ("flac", "flac"), ("mp3", "libmp3lame"), ("wma", "wmav2")],
)
def test_decode_common_formats(fixtures: Path, tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"speech.{suffix}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(fixtures / "seed-logmel/speech_short_16k.wav"),
         "-c:a", codec, str(path)],
        check=True,
    )

    decoded = decode_audio(path)

    assert decoded.duration_s == pytest.approx(2.37, abs=0.1)
    assert is_silent(decoded.samples, 16000) is False


def test_decode_rejects_truncated_ogg(fixtures: Path) -> None:
    data = (fixtures / "telegram/voice_red_apple.ogg").read_bytes()

    with pytest.raises(AudioDecodeError, match="The audio is corrupt or truncated"):
        decode_audio(data[: len(data) // 2])


def test_decode_rejects_zero_samples(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(b"")

    with pytest.raises(AudioDecodeError, match="The recording contains no audio samples"):
        decode_audio(buffer.getvalue())


def test_decode_rejects_bad_max_seconds(fixtures: Path) -> None:
    with pytest.raises(ValueError, match="max_seconds must be positive"):
        decode_audio(fixtures / "telegram/voice_red_apple.ogg", max_seconds=0)


@pytest.mark.parametrize("name", SILENT_FIXTURES)
def test_is_silent_on_silence(fixtures: Path, name: str) -> None:
    decoded = decode_audio(fixtures / name)

    assert is_silent(decoded.samples, decoded.sample_rate) is True


@pytest.mark.parametrize("name", SPEECH_FIXTURES + ["seed-logmel/tone_440_16k.wav"])
def test_is_silent_on_sound(fixtures: Path, name: str) -> None:
    decoded = decode_audio(fixtures / name, max_seconds=30)

    assert is_silent(decoded.samples, decoded.sample_rate) is False


def test_is_silent_on_empty() -> None:
    assert is_silent(np.zeros(0, dtype=np.float32), 16000) is True


def test_is_silent_on_faint_hiss() -> None:
    hiss = np.random.default_rng(0).normal(0.0, 10 ** (-60 / 20), 16000).astype(np.float32)

    assert is_silent(hiss, 16000) is True


def test_is_silent_on_short_click() -> None:
    samples = np.zeros(16000, dtype=np.float32)
    samples[8000:8480] = 0.2

    assert is_silent(samples, 16000) is False


def test_encode_voice_ogg_from_mp3(fixtures: Path, tmp_path: Path) -> None:
    dest = tmp_path / "voice.ogg"

    encode_voice_ogg(fixtures / "telegram/audio_horse.mp3", dest)
    stream = probe(dest)
    decoded = decode_audio(dest)

    assert stream["codec_name"] == "opus"
    assert stream["sample_rate"] == "48000"
    assert stream["channels"] == 1
    assert decoded.duration_s == pytest.approx(2.4, abs=0.1)


def test_encode_voice_ogg_from_stereo_wav(fixtures: Path, tmp_path: Path) -> None:
    dest = tmp_path / "voice.ogg"

    encode_voice_ogg(fixtures / "seed-logmel/speech_short_44k_stereo.wav", dest)

    assert probe(dest)["channels"] == 1
    assert is_silent(decode_audio(dest).samples, 16000) is False


def test_encode_voice_ogg_rejects_text(tmp_path: Path) -> None:
    source = tmp_path / "notes.wav"
    source.write_text("not audio\n" * 50)

    with pytest.raises(AudioDecodeError, match="The file is not audio"):
        encode_voice_ogg(source, tmp_path / "voice.ogg")


def test_decode_rejects_garbled_ogg(fixtures: Path) -> None:
    data = bytearray((fixtures / "telegram/voice_red_apple.ogg").read_bytes())
    data[100:] = np.random.default_rng(0).integers(0, 256, len(data) - 100, dtype=np.uint8).tobytes()

    with pytest.raises(AudioDecodeError, match="The audio is corrupt or truncated"):
        decode_audio(bytes(data))
