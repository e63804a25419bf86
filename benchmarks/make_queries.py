"""Generate the evaluation query sets for the demo collection.

The query sets measure recall@k of the search on the demo collection
(``data/demo``) with queries that the collection itself does not contain:
other voices, other wordings and altered pictures. Everything is generated
into a gitignored folder and recreated on demand::

    .venv/bin/python benchmarks/make_queries.py [--out var/bench]

Each set is a CSV with the header ``query,relevant``. ``query`` is an
absolute path to an audio or image file, or plain text, and ``relevant``
lists the stems of the relevant items, separated by ``;``. An item is
relevant when it is the query's source item or shares its caption (for the
synthetic audio queries: its short name), because several stamps share a
caption such as "A frog.". The sets are:

* ``human_names.csv``: the human English recordings that ship with the
  Tux Paint stamps (``<stamp>_desc.ogg``), matched to their stamp's item.
  The build of the demo collection leaves them out, so the CSV points at
  them where the Debian package ``tuxpaint-stamps-default`` installs them,
  under ``/usr/share/tuxpaint/stamps``. This set needs that package.
* ``synthetic_phrases.csv``: a request such as "show me an elephant", built
  from an item's caption and read by an espeak-ng voice that no spoken
  caption uses (``phrases/<item>.ogg``).
* ``synthetic_names.csv``: the short name of the same items, such as
  "an elephant", read by held-out voices (``names/<item>.ogg``).
* ``altered_photos.csv``: an altered copy of an item's picture, cropped,
  rotated, colour-shifted, sometimes grayscale and JPEG re-encoded
  (``photos/<item>.jpg``). It queries the spoken captions by picture, so
  the relevant stems name the spoken captions to find.
* ``text_names.csv``: the captions of the same items as the altered photos,
  as plain text queries.

``query_voices.csv`` records the voice, speaking rate and text of every
synthetic audio query. Output is deterministic for a given demo
collection, ``--seed`` and espeak-ng and FFmpeg versions. Each run deletes
files left in the query folders by earlier runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageEnhance

REPO_DIR = Path(__file__).resolve().parent.parent
# The demo build script is not part of an installed package, so it is
# imported from its folder to share the speech encoding of the spoken captions.
sys.path.insert(0, str(REPO_DIR / "data"))
from build_demo import CAPTION_VOICES, DEFAULT_STAMPS, item_name, synthesize_speech  # noqa: E402

DEFAULT_DEMO = REPO_DIR / "data" / "demo"
DEFAULT_OUT = REPO_DIR / "var" / "bench"

HUMAN_RECORDING_SUFFIX = "_desc.ogg"
# espeak-ng voices and variants (+f2: female 2, +m3: male 3) that no spoken
# caption uses, so that a query never matches a caption by voice alone.
HELD_OUT_VOICES = (
    "en-us-nyc", "en-gb-x-gbclan+f2", "en-gb-x-gbcwmd+m3",
    "en-us-nyc+f4", "en-gb-x-gbclan", "en-gb-x-gbcwmd+f3",
    "en-us-nyc+m5", "en-gb-x-gbclan+f5",
)
# Fails at import if a caption voice is ever added to the held-out list.
assert not {voice.split("+")[0] for voice in HELD_OUT_VOICES} & set(CAPTION_VOICES)
WORDS_PER_MINUTE = (150, 165, 180, 195)
PHRASE_TEMPLATES = (
    "show me {indefinite}",
    "a picture of {indefinite}",
    "find {definite}",
    "i'm looking for {indefinite}",
    "do you have a picture of {indefinite}",
    "search for {indefinite}",
    "can you find {definite}",
    "{indefinite}, please",
)
# A caption makes a usable short name only when it starts like a noun phrase.
NOUN_PHRASE_DETERMINERS = {"a", "an", "the", "some", "two", "three", "four", "five"}
MAX_SHORT_NAME_WORDS = 5

SPOKEN_QUERY_COUNT = 60
PHOTO_QUERY_COUNT = 80
DEFAULT_SEED = 20240601


@dataclass(frozen=True)
class Item:
    """One item of the demo collection."""

    stem: str
    caption: str


@dataclass(frozen=True)
class SpokenQuery:
    """A synthetic audio query: the file to write and what to say in it."""

    path: Path
    text: str
    voice: str
    words_per_minute: int
    relevant: str


def load_items(demo_dir: Path) -> list[Item]:
    """Return the complete items (picture, caption and spoken caption) sorted by stem."""
    items = []
    for caption_path in sorted(demo_dir.glob("*.txt")):
        stem = caption_path.stem
        if (demo_dir / f"{stem}.jpg").is_file() and (demo_dir / f"{stem}.ogg").is_file():
            caption = caption_path.read_text(encoding="utf-8").strip()
            items.append(Item(stem, caption))
    return items


def pick_evenly(items: list[Item], count: int) -> list[Item]:
    """Return ``count`` items spread evenly over ``items``, in order (all if fewer)."""
    if count >= len(items):
        return list(items)
    return [items[index * len(items) // count] for index in range(count)]


def short_name(caption: str) -> str | None:
    """Return the caption as a short lowercase noun phrase, or None when it is not one.

    "An albino peahen (a female peafowl, or peacock)." becomes
    "an albino peahen", "A “Stop” sign. Stop here." becomes "a stop sign"
    and "A spiny lobster, from the Hawaiian islands." becomes
    "a spiny lobster". Captions that do not start with a determiner, such as
    "Eat your broccoli!", or that are long, return None.
    """
    without_brackets = re.sub(r"\s*\([^)]*\)", "", caption.strip())
    first_clause = re.split(r"(?<=[.!?])\s+|\s*[—–,;:]\s*|\s+-\s+", without_brackets)[0]
    # Quotation marks go, but apostrophes inside words ("grandma's") stay.
    without_quotes = re.sub(r"[“”\"]|(?<!\w)['‘’]|['‘’](?!\w)", "", first_clause)
    cleaned = without_quotes.strip().rstrip(".!?").lower()
    words = cleaned.split()
    if not words or words[0] not in NOUN_PHRASE_DETERMINERS or len(words) > MAX_SHORT_NAME_WORDS:
        return None
    return " ".join(words)


def caption_key(caption: str) -> str:
    """Return the caption lowercased and without punctuation, for finding duplicate captions."""
    return " ".join(re.sub(r"[^\w\s]", " ", caption.lower()).split())


def relevant_stems(items: list[Item], key: Callable[[Item], str | None]) -> dict[str, str]:
    """Map each item stem to all stems sharing its key, joined by ";".

    Several stamps share a caption ("A frog." names two pictures of frogs),
    and a query for one of them finds the others equally well, so all of
    them count as relevant.
    """
    groups: dict[str | None, list[str]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item.stem)
    return {item.stem: ";".join(sorted(groups[key(item)])) for item in items}


def definite_form(name: str) -> str:
    """Return the short name with a definite article: "an elephant" becomes "the elephant"."""
    first, _, rest = name.partition(" ")
    if first == "the":
        return name
    if first in ("a", "an", "some"):
        return f"the {rest}"
    return f"the {name}"


def human_recording_queries(
    stamps_dir: Path, relevant: dict[str, str]
) -> tuple[list[tuple[str, str]], list[Path]]:
    """Return ``(path, relevant stems)`` rows for the human recordings, and those matching no item."""
    rows, unmatched = [], []
    for recording in sorted(stamps_dir.rglob(f"*{HUMAN_RECORDING_SUFFIX}")):
        stamp_path = recording.relative_to(stamps_dir).parent / recording.name.removesuffix(HUMAN_RECORDING_SUFFIX)
        stem = item_name(stamp_path)
        if stem in relevant:
            rows.append((str(recording.resolve()), relevant[stem]))
        else:
            unmatched.append(recording)
    return rows, unmatched


def plan_spoken_queries(items: list[Item], out_dir: Path) -> tuple[list[SpokenQuery], list[SpokenQuery]]:
    """Return the phrase queries and the short-name queries for evenly picked items.

    Only items whose caption gives a short name are eligible. The two sets
    use the held-out voices in different orders, so one item's phrase and
    its short name are usually read by different voices.
    """
    eligible = [item for item in items if short_name(item.caption)]
    relevant = relevant_stems(eligible, lambda item: short_name(item.caption))
    phrases, names = [], []
    for index, item in enumerate(pick_evenly(eligible, SPOKEN_QUERY_COUNT)):
        indefinite = short_name(item.caption) or ""
        template = PHRASE_TEMPLATES[index % len(PHRASE_TEMPLATES)]
        phrase = template.format(indefinite=indefinite, definite=definite_form(indefinite))
        phrases.append(SpokenQuery(
            out_dir / "phrases" / f"{item.stem}.ogg", phrase,
            HELD_OUT_VOICES[index % len(HELD_OUT_VOICES)],
            WORDS_PER_MINUTE[index % len(WORDS_PER_MINUTE)], relevant[item.stem],
        ))
        names.append(SpokenQuery(
            out_dir / "names" / f"{item.stem}.ogg", indefinite,
            HELD_OUT_VOICES[(index + 3) % len(HELD_OUT_VOICES)],
            WORDS_PER_MINUTE[(index + 1) % len(WORDS_PER_MINUTE)], relevant[item.stem],
        ))
    return phrases, names


def alter_picture(picture: Image.Image, rng: random.Random) -> tuple[Image.Image, int]:
    """Return a randomly cropped, rotated and colour-shifted copy, and a JPEG quality for it."""
    width, height = picture.size
    scale = rng.uniform(0.7, 0.9)
    crop_width, crop_height = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = rng.randint(0, width - crop_width), rng.randint(0, height - crop_height)
    altered = picture.crop((left, top, left + crop_width, top + crop_height))

    altered = altered.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        altered = enhancer(altered).enhance(rng.uniform(0.7, 1.3))

    if rng.random() < 0.5:
        # PIL stores hue as 0-255 for a full turn, so 25 steps are about 35 degrees.
        shift = rng.randint(-25, 25)
        hue, saturation, value = altered.convert("HSV").split()
        hue = hue.point(lambda level: (level + shift) % 256)
        altered = Image.merge("HSV", (hue, saturation, value)).convert("RGB")
    if rng.random() < 0.25:
        altered = altered.convert("L").convert("RGB")

    return altered, rng.randint(40, 80)


def write_altered_photo(item: Item, demo_dir: Path, path: Path, seed: int) -> None:
    # A string seed makes each item's alteration independent of which other items are picked.
    rng = random.Random(f"{seed}:{item.stem}")
    with Image.open(demo_dir / f"{item.stem}.jpg") as source:
        altered, quality = alter_picture(source.convert("RGB"), rng)
    buffer = io.BytesIO()
    altered.save(buffer, "JPEG", quality=quality)
    path.write_bytes(buffer.getvalue())


def write_spoken_query(query: SpokenQuery) -> None:
    query.path.write_bytes(synthesize_speech(query.text, query.voice, query.words_per_minute))


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def prepare_folder(folder: Path) -> Path:
    """Create ``folder`` and delete the files an earlier run left in it."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
    return folder


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate the evaluation query sets for the demo collection.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder for the CSVs and query files (default: %(default)s)")
    parser.add_argument("--demo", type=Path, default=DEFAULT_DEMO,
                        help="demo collection folder (default: %(default)s)")
    parser.add_argument("--stamps", type=Path, default=DEFAULT_STAMPS,
                        help="stamps folder with the human recordings (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed of the picture alterations (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="audio queries synthesised in parallel (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    items = load_items(args.demo)
    if not items:
        print(f"error: no items found in {args.demo}; build it with .venv/bin/python data/build_demo.py",
              file=sys.stderr)
        return 2
    if not args.stamps.is_dir():
        print(f"error: stamps folder not found: {args.stamps} "
              "(install the Debian package tuxpaint-stamps-default or pass --stamps)", file=sys.stderr)
        return 2

    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    demo_dir = args.demo.resolve()

    relevant = relevant_stems(items, lambda item: caption_key(item.caption))
    human_rows, unmatched = human_recording_queries(args.stamps, relevant)
    write_csv(out_dir / "human_names.csv", ["query", "relevant"], human_rows)
    for recording in unmatched:
        print(f"warning: human recording matches no item, left out: {recording}", file=sys.stderr)

    prepare_folder(out_dir / "phrases")
    prepare_folder(out_dir / "names")
    phrases, names = plan_spoken_queries(items, out_dir)
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(write_spoken_query, phrases + names))
    except RuntimeError as error:
        print(f"error: speech synthesis failed: {error}", file=sys.stderr)
        return 1
    for file_name, queries in (("synthetic_phrases.csv", phrases), ("synthetic_names.csv", names)):
        write_csv(out_dir / file_name, ["query", "relevant"], [(str(q.path), q.relevant) for q in queries])
    write_csv(out_dir / "query_voices.csv", ["query", "voice", "words_per_minute", "text"],
              [(str(q.path), q.voice, str(q.words_per_minute), q.text) for q in phrases + names])

    photo_dir = prepare_folder(out_dir / "photos")
    photo_items = pick_evenly(items, PHOTO_QUERY_COUNT)
    for item in photo_items:
        write_altered_photo(item, demo_dir, photo_dir / f"{item.stem}.jpg", args.seed)
    write_csv(out_dir / "altered_photos.csv", ["query", "relevant"],
              [(str(photo_dir / f"{item.stem}.jpg"), relevant[item.stem]) for item in photo_items])
    write_csv(out_dir / "text_names.csv", ["query", "relevant"],
              [(item.caption, relevant[item.stem]) for item in photo_items])

    print(f"items in collection: {len(items)}")
    print(f"human_names.csv: {len(human_rows)} queries ({len(unmatched)} recordings match no item)")
    print(f"synthetic_phrases.csv: {len(phrases)} queries")
    print(f"synthetic_names.csv: {len(names)} queries")
    print(f"altered_photos.csv: {len(photo_items)} queries")
    print(f"text_names.csv: {len(photo_items)} queries")
    print(f"written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
