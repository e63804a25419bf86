"""Evaluation: recall@k and mean rank of a query set against a collection.

A query set is a CSV with columns `query` (a file path, or text) and
`relevant` (file stems or paths separated by `;`). An item is relevant when
its source file's stem or full path matches one of them. recall@k is the
fraction of queries with a relevant item in the top k. The rank of a query
is the position of its first relevant item; a query with none within the
search depth counts as depth + 1 in the mean rank.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.errors import SearchError
from search.layouts import AUDIO_SUFFIXES, IMAGE_SUFFIXES
from search.results import QueryResult

logger = logging.getLogger(__name__)

RECALL_AT = (1, 5, 10)
DEPTH = 100


class QuerySetError(SearchError):
    """The query CSV is missing, empty or lacks its columns."""


@dataclass(frozen=True)
class EvalQuery:
    query: str
    relevant: list[str]


def read_query_set(path: Path) -> list[EvalQuery]:
    if not path.is_file():
        raise QuerySetError(f"The query file {path} does not exist.")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not {"query", "relevant"} <= set(reader.fieldnames or []):
            raise QuerySetError(f"The query file {path} needs the columns query,relevant.")
        queries = []
        for line, row in enumerate(reader, start=2):
            if row.get("relevant") is None:
                raise QuerySetError(f"{path}, line {line}: the row has no 'relevant' column; "
                                    "add a comma, then the relevant stems (or nothing).")
            query = (row.get("query") or "").strip()
            relevant = [target.strip() for target in (row.get("relevant") or "").split(";") if target.strip()]
            # A query with no relevant item is kept: it counts as a miss at every k.
            if query:
                queries.append(EvalQuery(query=query, relevant=relevant))
    if not queries:
        raise QuerySetError(f"The query file {path} has no queries.")
    base = path.parent
    resolved = []
    for query in queries:
        candidate = Path(query.query)
        if not candidate.is_absolute() and (base / candidate).is_file():
            query = EvalQuery(query=str((base / candidate).resolve()), relevant=query.relevant)
        resolved.append(query)
    return resolved


def is_relevant(path: str, relevant: list[str]) -> bool:
    """Return True when a target names the item's file stem, its full path or the end of its path."""
    stem = Path(path).stem
    return any(target in (stem, path) or path.endswith("/" + target.lstrip("/")) for target in relevant)


def query_type(query: str) -> str:
    suffix = Path(query).suffix.lower()
    if Path(query).is_file() and suffix in AUDIO_SUFFIXES:
        return "audio"
    if Path(query).is_file() and suffix in IMAGE_SUFFIXES:
        return "image"
    return "text"


def run_query(service, query: str, kind: str, depth: int) -> QueryResult:
    suffix = Path(query).suffix.lower()
    if suffix in AUDIO_SUFFIXES | IMAGE_SUFFIXES and not Path(query).is_file():
        raise QuerySetError(f"The query file {query} does not exist.")
    kind_of_query = query_type(query)
    if kind_of_query == "audio":
        return service.query_audio(query, kind=kind, top_k=depth)
    if kind_of_query == "image":
        return service.query_image(query, kind=kind, top_k=depth)
    return service.query_text(query, kind=kind, top_k=depth)


def evaluate(service, queries: list[EvalQuery], kind: str, depth: int = DEPTH, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    per_query = []
    for query in tqdm(queries, desc="queries", unit="query", disable=not progress):
        entry: dict[str, Any] = {"query": query.query, "relevant": query.relevant}
        try:
            result = run_query(service, query.query, kind, depth)
        except SearchError as error:
            entry.update(rank=None, heard=None, error=str(error), top=[])
            per_query.append(entry)
            continue
        rank = next((hit.rank for hit in result.results if is_relevant(hit.path, query.relevant)), None)
        entry.update(rank=rank, heard=result.heard, error=None,
                     top=[Path(hit.path).stem for hit in result.results[:5]],
                     top_score=result.results[0].score if result.results else None,
                     confident=bool(result.confident_results()),
                     ms=round(sum(result.timings_ms.values()), 1))
        per_query.append(entry)

    ranks = [entry["rank"] for entry in per_query]
    summary: dict[str, Any] = {"queries": len(per_query), "kind": kind, "engine": service.engine_name}
    for k in RECALL_AT:
        summary[f"recall@{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / len(ranks), 4)
    summary["mean_rank"] = round(sum(r if r is not None else depth + 1 for r in ranks) / len(ranks), 2)
    summary["errors"] = sum(1 for entry in per_query if entry["error"])
    summary["per_query"] = per_query
    return summary
