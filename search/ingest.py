"""Ingest: hash, analyse and encode item sources into a collection.

Pictures are decoded in parallel threads and encoded in batches; each
spoken caption is transcribed once and its transcript stored. A file that
cannot be read is skipped and reported; it never aborts the ingest. Files
whose content is already in the collection are skipped, so ingesting the
same folder twice adds each file once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from search.collection import Collection
from search.errors import SearchError
from search.layouts import Source
from search.spaces import IMAGE_BATCH, load_images, transcribe_file
from search.store import NewItem

logger = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """Counts of added, duplicate and skipped items of one ingest, and its duration."""

    added: dict[str, int] = field(default_factory=lambda: {"image": 0, "speech": 0})
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        total = sum(self.added.values())
        return total / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
            "seconds": round(self.seconds, 2),
            "items_per_second": round(self.items_per_second, 2),
        }


def content_hash(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(
    collection: Collection,
    sources: list[Source],
    needed: list[tuple[str, str]],
    progress: bool = True,
    image_batch: int = IMAGE_BATCH,
) -> IngestReport:
    """Add new sources to `collection` and encode them into every needed (kind, space)."""
    started = time.perf_counter()
    report = IngestReport()
    fresh, repeats = _new_sources(collection, sources, report)

    images = [(source, digest) for source, digest in fresh if source.kind == "image"]
    speech = [(source, digest) for source, digest in fresh if source.kind == "speech"]
    needs_visual = ("image", "visual") in needed
    _ingest_images(collection, images, report, progress, image_batch, needs_visual)
    _ingest_speech(collection, speech, report, progress, transcribe=("speech", "text") in needed)

    report.skipped.extend(collection.ensure_vectors(needed, progress=progress))
    _settle_repeats(collection, repeats, report)
    report.seconds = time.perf_counter() - started
    logger.info(
        "ingested into %s: %d pictures, %d spoken captions, %d duplicates, %d skipped in %.1f s",
        collection.name, report.added["image"], report.added["speech"], report.duplicates,
        len(report.skipped), report.seconds,
    )
    return report


def _new_sources(collection: Collection, sources: list[Source], report: IngestReport):
    """Split sources into new ones and repeats of a file earlier in the same list (same content)."""
    known = collection.store.known_hashes(collection.name)
    first_with: dict[str, str] = {}
    fresh, repeats = [], []
    for source in sources:
        try:
            digest = content_hash(source.path)
        except OSError as error:
            report.skipped.append((str(source.path), f"it could not be read: {error.strerror or error}"))
            continue
        if digest in known:
            report.duplicates += 1
        elif digest in first_with:
            repeats.append((source, digest, first_with[digest]))
        else:
            first_with[digest] = str(source.path)
            fresh.append((source, digest))
    return fresh, repeats


def _settle_repeats(collection: Collection, repeats, report: IngestReport) -> None:
    """Count a repeat as a duplicate when its first copy was added, else report it skipped too."""
    if not repeats:
        return
    stored = collection.store.known_hashes(collection.name)
    for source, digest, first in repeats:
        if digest in stored:
            report.duplicates += 1
        else:
            report.skipped.append((str(source.path), f"it has the same content as {first}, which was skipped"))


def _ingest_images(collection, images, report, progress, batch_size, needs_visual) -> None:
    models = collection.models
    bar = tqdm(total=len(images), desc="pictures", unit="item", disable=not progress or not images)
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        decoded = load_images([str(source.path) for source, _ in chunk], models.settings.max_image_pixels,
                              models.vision.preprocess)

        kept, tensors = [], []
        for (source, digest), (path, tensor) in zip(chunk, decoded):
            if isinstance(tensor, SearchError):
                report.skipped.append((path, str(tensor)))
                continue
            kept.append((source, digest))
            tensors.append(tensor)

        if kept:
            features, labels = models.vision.encode(torch.stack(tensors))
            new_items = [
                NewItem(kind="image", path=str(source.path), caption=source.caption, transcript=None,
                        labels=[[name, round(prob, 4)] for name, prob in zip(found.names, found.probs)],
                        pair_key=source.pair_key, content_hash=digest)
                for (source, digest), found in zip(kept, labels)
            ]
            ids = collection.store.add(collection.name, new_items)
            if needs_visual:
                collection.add_vectors("image", "visual", ids, features)
            report.added["image"] += len(ids)
        bar.update(len(chunk))
    bar.close()


def _ingest_speech(collection, speech, report, progress, transcribe: bool) -> None:
    from search.audio import decode_audio

    models = collection.models
    pending: list[NewItem] = []
    for source, digest in tqdm(speech, desc="spoken captions", unit="item", disable=not progress or not speech):
        transcript = None
        try:
            if transcribe:
                transcript = transcribe_file(models, str(source.path))
            else:
                decode_audio(source.path, 16000, models.settings.max_audio_seconds)
        except SearchError as error:
            report.skipped.append((str(source.path), str(error)))
            continue
        if transcript == "" and not source.caption:
            report.skipped.append((str(source.path), "no speech was heard in it and it has no caption"))
            continue

        pending.append(NewItem(kind="speech", path=str(source.path), caption=source.caption,
                               transcript=transcript, labels=[], pair_key=source.pair_key, content_hash=digest))
        if len(pending) >= 32:
            report.added["speech"] += len(collection.store.add(collection.name, pending))
            pending = []
    if pending:
        report.added["speech"] += len(collection.store.add(collection.name, pending))
