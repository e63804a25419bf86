"""Readers that turn a folder or a metadata file into item sources to ingest.

Three layouts:
- `folder`: pictures and recordings anywhere under a folder; `NAME.txt` beside
  a file is its caption; a picture and a recording with the same stem in the
  same folder are a pair.
- `flickr-audio`: the Flickr Audio Caption Corpus as the research team packs
  it, `flickr_audio_8k/<id>/<id>.jpg` and `<id>_<n>.wav`, selected by split
  from their metadata CSV (`audio_file,image_file,caption_number,id_,split`).
- `manifest`: a CSV with columns `path,kind,caption` (optional `pair`), paths
  relative to the CSV's folder.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from search.errors import SearchError

LAYOUTS = ("folder", "flickr-audio", "manifest")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".flac", ".aac"}


class LayoutError(SearchError):
    """The source folder or metadata file does not match the chosen layout."""


@dataclass(frozen=True)
class Source:
    """A file to ingest as an item, with the caption and pair key its layout gives it."""

    path: Path
    kind: str
    caption: str | None = None
    pair_key: str | None = None


@dataclass
class SourceList:
    """Sources found, and files the layout names but that cannot be ingested."""

    sources: list[Source]
    missing: list[tuple[str, str]]


def read_sources(layout: str, source: Path, meta: Path | None = None, split: str | None = None) -> SourceList:
    if layout == "folder":
        return folder_sources(source)
    if layout == "flickr-audio":
        if meta is None:
            raise LayoutError("The flickr-audio layout needs its metadata CSV: pass --meta FILE.")
        return flickr_audio_sources(source, meta, split)
    if layout == "manifest":
        return manifest_sources(source)
    raise LayoutError(f"Unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "speech"
    return None


def _read_caption(path: Path) -> str | None:
    sidecar = path.with_suffix(".txt")
    if not sidecar.is_file():
        return None
    text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
    return text.splitlines()[0].strip() if text else None


def folder_sources(root: Path) -> SourceList:
    if not root.is_dir():
        raise LayoutError(f"The source folder {root} does not exist or is not a folder.")
    sources = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        kind = kind_of(path)
        if kind is None:
            continue
        pair_key = str(path.relative_to(root).with_suffix(""))
        sources.append(Source(path=path.resolve(), kind=kind, caption=_read_caption(path), pair_key=pair_key))
    return SourceList(sources=sources, missing=[])


def _flickr_root(source: Path) -> Path:
    if (source / "flickr_audio_8k").is_dir():
        return source / "flickr_audio_8k"
    if source.name == "flickr_audio_8k" and source.is_dir():
        return source
    raise LayoutError(
        f"No flickr_audio_8k folder found in {source}; expected flickr_audio_8k/<id>/<id>.jpg and <id>_<n>.wav."
    )


_FLICKR_COLUMNS = {"audio_file", "image_file", "caption_number", "id_", "split"}


def flickr_audio_sources(source: Path, meta: Path, split: str | None) -> SourceList:
    root = _flickr_root(source)
    if not meta.is_file():
        raise LayoutError(f"The metadata file {meta} does not exist.")

    with open(meta, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not _FLICKR_COLUMNS <= columns:
            raise LayoutError(
                f"{meta} lacks the columns {', '.join(sorted(_FLICKR_COLUMNS - columns))}; "
                "expected audio_file,image_file,caption_number,id_,split."
            )
        rows, incomplete = [], []
        for line, row in enumerate(reader, start=2):
            if any(not (row.get(column) or "").strip() for column in _FLICKR_COLUMNS):
                incomplete.append((f"{meta}:{line}", "the metadata row has empty or missing fields"))
            elif split is None or row["split"] == split:
                rows.append(row)
    if not rows:
        raise LayoutError(f"{meta} has no rows for the split {split!r}.")

    sources, missing, seen_images = [], list(incomplete), set()
    for row in sorted(rows, key=lambda r: (r["id_"], r["caption_number"])):
        folder = root / row["id_"]
        if row["image_file"] not in seen_images:
            seen_images.add(row["image_file"])
            image = folder / row["image_file"]
            if image.is_file():
                sources.append(Source(path=image.resolve(), kind="image", pair_key=row["id_"]))
            else:
                missing.append((str(image), "the metadata lists it but the file is missing"))
        audio = folder / row["audio_file"]
        if audio.is_file():
            sources.append(Source(path=audio.resolve(), kind="speech", pair_key=row["id_"]))
        else:
            missing.append((str(audio), "the metadata lists it but the file is missing"))
    return SourceList(sources=sources, missing=missing)


def manifest_sources(manifest: Path) -> SourceList:
    if not manifest.is_file():
        raise LayoutError(f"The manifest {manifest} does not exist.")
    with open(manifest, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not {"path", "kind"} <= columns:
            raise LayoutError(f"The manifest {manifest} needs the columns path,kind,caption; it has {sorted(columns)}.")
        rows = list(reader)

    sources, missing = [], []
    for line, row in enumerate(rows, start=2):
        kind = (row.get("kind") or "").strip()
        path = (manifest.parent / (row.get("path") or "").strip()).resolve()
        if kind not in ("image", "speech"):
            missing.append((str(path), f"line {line}: kind must be image or speech, got {kind!r}"))
            continue
        if not path.is_file():
            missing.append((str(path), f"line {line}: the file does not exist"))
            continue
        caption = (row.get("caption") or "").strip() or None
        pair_key = (row.get("pair") or "").strip() or None
        sources.append(Source(path=path, kind=kind, caption=caption, pair_key=pair_key))
    return SourceList(sources=sources, missing=missing)
