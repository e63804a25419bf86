"""Build the demo collection from the Tux Paint stamps.

The demo collection gives the command line, the bot and the benchmarks a
fixed set of items that anyone can rebuild from a Debian package, so the
repository ships the script and the output but not the source artwork.

Source: the Debian package ``tuxpaint-stamps-default`` (see ``data/NOTICE``
for origin and licence). Stamps under ``symbols/`` are skipped because they
are symbols (letters, math signs, chess pieces, shapes, faces, music notes
and money) rather than pictures of things.
Every other stamp that has both a PNG image and an English description
(the first line of its ``.txt`` file) becomes one item, written flat into
the output folder under the stamp's path with ``/`` replaced by ``__``:

* ``<name>.jpg``: the picture, flattened onto white, at most 384 px on the
  longer side;
* ``<name>.txt``: the caption, the English description as one UTF-8 line;
* ``<name>.ogg``: the spoken caption, the description read by espeak-ng and
  encoded as mono OGG/Opus.

The espeak-ng voice of each spoken caption goes to ``data/voices.csv``
(``name,voice``), outside the output folder, so that the folder contains
only items. The package's own human recordings (``*_desc.ogg``) are left out
on purpose because the benchmarks use them as held-out queries.

Running the script again gives byte-identical files for the same stamps,
espeak-ng and FFmpeg versions: JPEG encoding is deterministic, and FFmpeg
runs in bitexact mode, which fixes the Ogg stream serial number and drops
the version from the encoder tag. Files whose content has not changed are not rewritten, and
item files in the output folder that no longer match a stamp are deleted.

Usage::

    .venv/bin/python data/build_demo.py [--stamps DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

DATA_DIR = Path(__file__).resolve().parent
DEFAULT_STAMPS = Path("/usr/share/tuxpaint/stamps")
DEFAULT_OUT = DATA_DIR / "demo"
DEFAULT_VOICES_CSV = DATA_DIR / "voices.csv"

# The benchmarks synthesise their queries with other voices, so that a
# query never shares a voice with the spoken caption it should find.
CAPTION_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029")

MAX_SIDE_PX = 384
JPEG_QUALITY = 80
OPUS_BITRATE = "20k"
# Opus accepts only 8, 12, 16, 24 or 48 kHz input, and 16 kHz
# (wideband) is what speech recognisers such as Whisper resample to anyway.
OPUS_SAMPLE_RATE = 16000

ITEM_SUFFIXES = (".jpg", ".txt", ".ogg")
SKIPPED_TOP_FOLDER = "symbols"
# Translation lines look like "fr.utf8=...", "pt_BR.utf8=..." or "sr@latin.utf8=...".
TRANSLATION_LINE = re.compile(r"^[A-Za-z]{2,3}(_[A-Za-z]{2,3})?(@\w+)?\.utf8=")


@dataclass(frozen=True)
class Stamp:
    """One source stamp that becomes an item."""

    name: str
    image: Path
    caption: str


def item_name(relative_stem: Path) -> str:
    """Return the item file name stem for a stamp path relative to the stamps folder."""
    return "__".join(relative_stem.parts)


def read_english_description(txt_path: Path) -> str:
    """Return the first line of a stamp's description file, stripped, or ''."""
    text = txt_path.read_text(encoding="utf-8", errors="replace")
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    return " ".join(first_line.split())


def find_stamps(stamps_dir: Path) -> tuple[list[Stamp], Counter[str]]:
    """Return the stamps that become items, sorted by name, and skip counts by reason.

    A stamp is identified by its path without suffix and may have any of a
    ``.png``, ``.svg`` and ``.txt`` file.
    """
    stems = sorted(
        {p.with_suffix("") for p in stamps_dir.rglob("*") if p.suffix in (".png", ".svg", ".txt")}
    )
    stamps: list[Stamp] = []
    skipped: Counter[str] = Counter()

    for stem in stems:
        relative = stem.relative_to(stamps_dir)
        png, txt = stem.with_suffix(".png"), stem.with_suffix(".txt")
        if relative.parts[0] == SKIPPED_TOP_FOLDER:
            skipped[f"under {SKIPPED_TOP_FOLDER}/"] += 1
        elif not png.is_file():
            skipped["no PNG image"] += 1
        elif not txt.is_file():
            skipped["no description file"] += 1
        else:
            caption = read_english_description(txt)
            if not caption:
                skipped["empty first line"] += 1
            elif TRANSLATION_LINE.match(caption):
                skipped["first line is a translation"] += 1
            else:
                stamps.append(Stamp(item_name(relative), png, caption))

    return sorted(stamps, key=lambda stamp: stamp.name), skipped


def encode_picture(png_path: Path, quality: int = JPEG_QUALITY) -> bytes:
    """Return the stamp flattened onto white, shrunk to MAX_SIDE_PX, as JPEG bytes."""
    with Image.open(png_path) as source:
        rgba = source.convert("RGBA")
    picture = Image.new("RGB", rgba.size, "white")
    picture.paste(rgba, mask=rgba.getchannel("A"))
    # thumbnail() only ever shrinks, so small stamps keep their size.
    picture.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX), Image.Resampling.LANCZOS)

    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def synthesize_speech(
    text: str, voice: str, words_per_minute: int = 175, bitrate: str = OPUS_BITRATE
) -> bytes:
    """Return ``text`` read by espeak-ng ``voice`` as mono OGG/Opus bytes.

    Raises RuntimeError with the tool's error output when espeak-ng or
    FFmpeg fails, for example on an unknown voice name.
    """
    # The text goes through stdin so that a leading "-" is never read as an option.
    speech = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdin", "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
    )
    if speech.returncode != 0 or not speech.stdout:
        message = speech.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"espeak-ng failed for voice {voice!r} on {text!r}: {message}")

    encoder = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error",
            "-i", "pipe:0",
            "-ac", "1", "-ar", str(OPUS_SAMPLE_RATE),
            "-c:a", "libopus", "-b:a", bitrate, "-application", "voip",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
            "-f", "ogg", "pipe:1",
        ],
        input=speech.stdout,
        capture_output=True,
    )
    if encoder.returncode != 0 or not encoder.stdout:
        message = encoder.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"ffmpeg failed to encode speech for {text!r}: {message}")
    return encoder.stdout


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` unless the file already contains it, and return True if written."""
    if path.is_file() and path.read_bytes() == content:
        return False
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(content)
    temporary.replace(path)
    return True


def build_item(stamp: Stamp, voice: str, out_dir: Path, quality: int, bitrate: str) -> int | str:
    """Write the three files of one item and return how many changed, or the error message.

    Nothing is written for an item unless all three files could be made.
    """
    try:
        outputs = {
            ".jpg": encode_picture(stamp.image, quality),
            ".txt": (stamp.caption + "\n").encode("utf-8"),
            ".ogg": synthesize_speech(stamp.caption, voice, bitrate=bitrate),
        }
    except (OSError, RuntimeError) as error:
        return f"{stamp.name}: {error}"
    return sum(write_if_changed(out_dir / f"{stamp.name}{suffix}", data) for suffix, data in outputs.items())


def remove_stale_items(out_dir: Path, names: set[str]) -> int:
    """Delete item files in ``out_dir`` that belong to no current stamp, and return the count."""
    removed = 0
    for path in sorted(out_dir.iterdir()):
        if path.suffix in ITEM_SUFFIXES and path.stem not in names:
            path.unlink()
            removed += 1
    return removed


def write_voices_csv(path: Path, assignments: list[tuple[str, str]]) -> None:
    """Write the ``name,voice`` table of spoken captions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "voice"])
    writer.writerows(assignments)
    write_if_changed(path, buffer.getvalue().encode("utf-8"))


def folder_size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build the demo collection from the Tux Paint stamps.")
    parser.add_argument("--stamps", type=Path, default=DEFAULT_STAMPS,
                        help="stamps folder of the tuxpaint-stamps-default package (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder for the items (default: %(default)s)")
    parser.add_argument("--voices-csv", type=Path, default=DEFAULT_VOICES_CSV,
                        help="output table of the voice of each spoken caption (default: %(default)s)")
    parser.add_argument("--jpeg-quality", type=int, default=JPEG_QUALITY,
                        help="JPEG quality of the pictures, 1-95 (default: %(default)s)")
    parser.add_argument("--bitrate", default=OPUS_BITRATE,
                        help="Opus bitrate of the spoken captions, as FFmpeg reads it (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="items built in parallel (default: number of CPUs, %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.stamps.is_dir():
        print(f"error: stamps folder not found: {args.stamps} "
              "(install the Debian package tuxpaint-stamps-default or pass --stamps)", file=sys.stderr)
        return 2
    if not 1 <= args.jpeg_quality <= 95:
        print(f"error: invalid --jpeg-quality {args.jpeg_quality}: expected 1-95", file=sys.stderr)
        return 2

    stamps, skipped = find_stamps(args.stamps)
    if not stamps:
        print(f"error: no stamps with a PNG image and an English description under {args.stamps}", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    voices = [CAPTION_VOICES[index % len(CAPTION_VOICES)] for index in range(len(stamps))]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(
            lambda pair: build_item(pair[0], pair[1], args.out, args.jpeg_quality, args.bitrate),
            zip(stamps, voices),
        ))

    built = [(stamp, voice) for stamp, voice, result in zip(stamps, voices, results) if isinstance(result, int)]
    errors = [result for result in results if isinstance(result, str)]
    changed = sum(result for result in results if isinstance(result, int))
    removed = remove_stale_items(args.out, {stamp.name for stamp, _ in built})
    write_voices_csv(args.voices_csv, [(stamp.name, voice) for stamp, voice in built])

    print(f"items written: {len(built)} to {args.out} ({changed} files changed, {removed} stale files removed)")
    for reason, count in sorted(skipped.items()):
        print(f"skipped: {count} ({reason})")
    for message in errors:
        print(f"failed: {message}", file=sys.stderr)
    print(f"failed: {len(errors)}")
    print(f"total size: {folder_size_bytes(args.out) / 1e6:.2f} MB")
    print(f"voices: {args.voices_csv}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
