"""The `saysee` command line: features, index, query, evaluate, info.

`query --json` and `evaluate --json` print exactly one JSON object on
stdout (logs and progress bars go to stderr), so other tools can parse them.
Input errors print one sentence on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from search.config import ENGINES, Settings
from search.errors import SearchError
from search.layouts import LAYOUTS
from search.store import KINDS

EXIT_INPUT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saysee", description="Search pictures by voice and spoken captions by picture.")
    parser.add_argument("--data-dir", type=Path, help="folder for indexes and metadata (default: SAYSEE_DATA_DIR or var/)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress at INFO level on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    features = commands.add_parser("features", help="write what the seed model sees: a log-mel or an image tensor")
    source = features.add_mutually_exclusive_group(required=True)
    source.add_argument("--audio", type=Path, help="recording → (1, 128, 701) float32 log-mel")
    source.add_argument("--image", type=Path, help="picture → (3, 224, 224) float32 tensor")
    features.add_argument("--out", type=Path, required=True, help="output .npy file")

    index = commands.add_parser("index", help="ingest files into a collection")
    index.add_argument("--collection", required=True)
    index.add_argument("--source", type=Path, required=True, help="folder, corpus root or manifest CSV")
    index.add_argument("--layout", choices=LAYOUTS, default="folder")
    index.add_argument("--meta", type=Path, help="metadata CSV of the flickr-audio layout")
    index.add_argument("--split", help="split of the flickr-audio metadata to index, e.g. test")
    _engine_options(index)
    index.add_argument("--json", action="store_true", help="print the ingest report as JSON")

    query = commands.add_parser("query", help="search a collection with a recording, a picture or text")
    query.add_argument("--collection", default=None)
    what = query.add_mutually_exclusive_group(required=True)
    what.add_argument("--audio", type=Path)
    what.add_argument("--image", type=Path)
    what.add_argument("--text")
    query.add_argument("--kind", choices=KINDS, help="kind of items to return (default: image for audio and text, speech for images)")
    query.add_argument("--top-k", type=int, default=5)
    _engine_options(query)
    query.add_argument("--json", action="store_true")

    evaluate = commands.add_parser("evaluate", help="recall@k of a query set")
    evaluate.add_argument("--collection", default=None)
    evaluate.add_argument("--queries", type=Path, required=True, help="CSV with columns query,relevant")
    evaluate.add_argument("--kind", choices=KINDS, default="image")
    _engine_options(evaluate)
    evaluate.add_argument("--json", action="store_true")

    info = commands.add_parser("info", help="collections, item counts, engine and model versions")
    info.add_argument("--collection", default=None)
    _engine_options(info)
    info.add_argument("--json", action="store_true")
    return parser


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, help="engine (default: SAYSEE_ENGINE or auto)")
    parser.add_argument("--seed-weights", type=Path, help="folder with the seed encoder weight files")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=args.data_dir,
        engine=getattr(args, "engine", None),
        collection=getattr(args, "collection", None),
        seed_weights=getattr(args, "seed_weights", None),
    )


def run_features(args: argparse.Namespace) -> int:
    if args.audio is not None:
        from search.audio import decode_audio
        from search.logmel import SAMPLE_RATE, logmel

        array = logmel(decode_audio(args.audio, SAMPLE_RATE).samples)
    else:
        from search.image import load_image, seed_image_tensor

        array = seed_image_tensor(load_image(args.image, Settings.from_env().max_image_pixels)).numpy()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, array.astype(np.float32))
    print(f"wrote {args.out}: shape {tuple(array.shape)}, float32")
    return 0


def run_index(args: argparse.Namespace) -> int:
    from search.collection import Collection
    from search.engines import create_engine, resolve_engine_name
    from search.ingest import ingest
    from search.layouts import read_sources
    from search.models import ModelSet
    from search.service import open_store

    settings = _settings(args)
    sources = read_sources(args.layout, args.source, args.meta, args.split)
    models = ModelSet(settings)
    engine = create_engine(resolve_engine_name(settings), models)
    collection = Collection(settings.data_dir, args.collection, open_store(settings), models)
    report = ingest(collection, sources.sources, engine.needed(), progress=True)
    report.skipped[:0] = sources.missing

    if args.json:
        print(json.dumps({"collection": args.collection, "engine": engine.name, **report.to_json()}))
        return 0
    print(f"{args.collection}: added {report.added['image']} pictures and {report.added['speech']} spoken captions "
          f"in {report.seconds:.1f} s ({report.items_per_second:.1f} items/s); "
          f"{report.duplicates} already indexed; {len(report.skipped)} skipped")
    for path, reason in report.skipped:
        print(f"  skipped {path}: {reason}")
    return 0


def _open_service(args: argparse.Namespace):
    from search.service import SearchService

    return SearchService.open(_settings(args), progress=True)


def _check_input_file(path: Path | None, what: str) -> None:
    """Fail before the models load (seconds) when the query file is missing."""
    if path is not None and not path.is_file():
        raise SearchError(f"The {what} file does not exist or is not a regular file.")


def run_query(args: argparse.Namespace) -> int:
    _check_input_file(args.audio, "audio")
    _check_input_file(args.image, "image")
    service = _open_service(args)
    if args.audio is not None:
        result = service.query_audio(args.audio, kind=args.kind or "image", top_k=args.top_k)
    elif args.image is not None:
        result = service.query_image(args.image, kind=args.kind or "speech", top_k=args.top_k)
    else:
        result = service.query_text(args.text, kind=args.kind or "image", top_k=args.top_k)

    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    if result.heard is not None:
        print(f"heard: {result.heard}")
    for note in result.notes:
        print(note)
    print(f"{'rank':>4}  {'score':>6}  {'kind':<6}  {'caption / transcript':<40}  path")
    for hit in result.results:
        mark = " " if hit.score >= result.min_score else "?"
        text = (hit.caption or hit.transcript or "")[:40]
        print(f"{hit.rank:>4}  {hit.score:>6.3f}{mark} {hit.kind:<6}  {text:<40}  {hit.path}")
    if not result.confident_results():
        print(f"No result clears the engine's minimum score ({result.min_score}); '?' marks the weak ones.")
    print("timings: " + ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in result.timings_ms.items()))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from search.evaluate import evaluate, read_query_set

    queries = read_query_set(args.queries)
    summary = evaluate(_open_service(args), queries, kind=args.kind)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['queries']} queries, engine {summary['engine']}, kind {summary['kind']}")
    for key in ("recall@1", "recall@5", "recall@10", "mean_rank", "errors"):
        print(f"  {key:<10} {summary[key]}")
    misses = [entry for entry in summary["per_query"] if entry["rank"] is None or entry["rank"] > 5]
    if misses:
        print("queries without a relevant item in the top 5 (rank, query, heard or error, top 3):")
    for entry in misses:
        said = entry["error"] or entry["heard"] or ""
        print(f"  {entry['rank'] or '-':>4}  {entry['query']}  | {said} | {', '.join(entry['top'][:3])}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    service = _open_service(args)
    info = service.info()
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"engine: {info['engine']}")
    for role, version in info["models"].items():
        print(f"  {role}: {version}")
    for name, counts in sorted(info["collections"].items()):
        print(f"collection {name}: {counts['image']} pictures, {counts['speech']} spoken captions")
    return 0


COMMANDS = {"features": run_features, "index": run_index, "query": run_query, "evaluate": run_evaluate,
            "info": run_info}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (SearchError, ValueError) as error:
        print(f"saysee: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except FileNotFoundError as error:
        print(f"saysee: file not found: {error.filename}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"saysee: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())
