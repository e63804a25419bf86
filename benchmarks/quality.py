"""Retrieval quality on the demo collection: recall@1/5/10 per query set.

Prerequisites: the query sets from `benchmarks/make_queries.py` (which
needs espeak-ng and the Debian package tuxpaint-stamps-default for the
human recordings). Run:

    .venv/bin/python benchmarks/make_queries.py
    .venv/bin/python benchmarks/quality.py [--data-dir var] [--engine cascade] [--json]

Measured:
- voice → picture with human recordings of item names (held out of the
  collection), synthetic held-out voices saying phrases and names;
- picture → spoken caption with altered copies of the pictures;
- text → picture as a sanity check;
- voice → picture with captions withheld from the index, so pictures are
  described only by their ImageNet classes (a separate collection,
  `demo-nocaptions`, indexed once into the same data folder).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from search.collection import Collection
from search.config import Settings
from search.evaluate import evaluate, read_query_set
from search.ingest import ingest
from search.layouts import Source, folder_sources
from search.service import DEMO_SOURCE, SearchService

SETS = [
    ("human_names", "image", "voice → picture, human recordings of names"),
    ("synthetic_phrases", "image", "voice → picture, held-out synthetic voices, phrases"),
    ("synthetic_names", "image", "voice → picture, held-out synthetic voices, names"),
    ("altered_photos", "speech", "picture → spoken caption, altered photos"),
    ("text_names", "image", "text → picture, captions typed"),
]
NO_CAPTIONS = "demo-nocaptions"


def build_uncaptioned(settings: Settings) -> None:
    """Index the demo pictures without their captions, once."""
    service = SearchService.open(settings, progress=True)
    collection = Collection(settings.data_dir, NO_CAPTIONS, service.store, service.models)
    if not collection.is_empty():
        return
    pictures = [Source(path=s.path, kind="image", pair_key=s.pair_key)
                for s in folder_sources(DEMO_SOURCE).sources if s.kind == "image"]
    ingest(collection, pictures, service.engine.needed(), progress=True)


def run(args: argparse.Namespace) -> dict:
    settings = Settings.from_env(data_dir=args.data_dir, engine=args.engine, collection="demo")
    service = SearchService.open(settings, progress=True)
    report = {"engine": service.engine_name, "models": service.models.versions(service.engine.model_roles()),
              "sets": {}}
    for name, kind, title in SETS:
        path = args.queries / f"{name}.csv"
        if not path.is_file():
            print(f"skipping {name}: {path} is missing (run benchmarks/make_queries.py)", file=sys.stderr)
            continue
        started = time.perf_counter()
        summary = evaluate(service, read_query_set(path), kind=kind, progress=False)
        summary["seconds_per_query"] = round((time.perf_counter() - started) / summary["queries"], 3)
        summary["title"] = title
        report["sets"][name] = summary

    build_uncaptioned(settings)
    uncaptioned = SearchService.open(Settings.from_env(data_dir=args.data_dir, engine=args.engine,
                                                       collection=NO_CAPTIONS), progress=True)
    for name in ("human_names", "synthetic_phrases"):
        path = args.queries / f"{name}.csv"
        if path.is_file():
            summary = evaluate(uncaptioned, read_query_set(path), kind="image", progress=False)
            summary["title"] = f"voice → picture, captions withheld ({name})"
            report["sets"][f"{name}_no_captions"] = summary
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--queries", type=Path, default=Path("var/bench"))
    parser.add_argument("--engine", default="cascade")
    parser.add_argument("--json", action="store_true", help="print the whole report, per-query ranks included")
    args = parser.parse_args()

    report = run(args)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"engine {report['engine']}: " + ", ".join(f"{k} {v}" for k, v in report["models"].items()))
    print(f"{'query set':<58} {'n':>4} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'mean rank':>9} {'s/query':>8}")
    for summary in report["sets"].values():
        print(f"{summary['title']:<58} {summary['queries']:>4} {summary['recall@1']:>6.3f} {summary['recall@5']:>6.3f} "
              f"{summary['recall@10']:>6.3f} {summary['mean_rank']:>9.2f} {summary.get('seconds_per_query', 0):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
