"""Tests of the evaluation: relevance matching, query set files, query dispatch and recall@k arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import EmptyQueryError
from search.evaluate import (
    EvalQuery,
    QuerySetError,
    evaluate,
    is_relevant,
    query_type,
    read_query_set,
    run_query,
)
from search.results import Hit, QueryResult


class FixedService:
    """Stand-in for SearchService that returns fixed rankings of paths and records each call."""

    engine_name = "fixed"

    def __init__(self, rankings: dict[str, list[str]], failing: dict[str, Exception] | None = None) -> None:
        self.rankings = rankings
        self.failing = failing or {}
        self.calls: list[tuple[str, str, str, int]] = []

    def _answer(self, method: str, query, kind: str, top_k: int) -> QueryResult:
        self.calls.append((method, str(query), kind, top_k))
        if str(query) in self.failing:
            raise self.failing[str(query)]
        paths = self.rankings.get(str(query), [])[:top_k]
        hits = [
            Hit(rank=rank, item_id=rank, kind=kind, path=path, score=1.0 - rank / 1000, caption=None, transcript=None)
            for rank, path in enumerate(paths, start=1)
        ]
        return QueryResult(engine="fixed", collection="test", query={"type": method}, heard="heard " + method,
                           results=hits, timings_ms={"embed": 2.0, "search": 1.5})

    def query_text(self, text, kind="image", top_k=5):
        return self._answer("text", text, kind, top_k)

    def query_audio(self, path, kind="image", top_k=5):
        return self._answer("audio", path, kind, top_k)

    def query_image(self, path, kind="speech", top_k=5):
        return self._answer("image", path, kind, top_k)


def ranking_with(relevant: str | None, at: int, length: int = 12) -> list[str]:
    """Return `length` filler paths with `relevant` placed at rank `at` (1-based)."""
    paths = [f"/demo/filler_{n}.jpg" for n in range(length)]
    if relevant is not None:
        paths[at - 1] = f"/demo/{relevant}.jpg"
    return paths


@pytest.fixture
def five_queries() -> tuple[FixedService, list[EvalQuery]]:
    service = FixedService(
        rankings={
            "an elephant": ranking_with("animals__mammals__elephant", 1),
            "a red apple": ranking_with("food__fruit__apple_red", 3),
            "a frog": ranking_with("animals__amphibians__frog", 7),
            "a unicorn": ranking_with(None, 0),
        },
        failing={"a broken query": EmptyQueryError("The text query is empty.")},
    )
    queries = [
        EvalQuery("an elephant", ["animals__mammals__elephant"]),
        EvalQuery("a red apple", ["food__fruit__apple_green", "food__fruit__apple_red"]),
        EvalQuery("a frog", ["animals__amphibians__frog"]),
        EvalQuery("a unicorn", ["fantasy__unicorn"]),
        EvalQuery("a broken query", ["anything"]),
    ]
    return service, queries


def test_is_relevant_by_stem() -> None:
    assert is_relevant("/data/demo/animals__mammals__elephant.jpg", ["animals__mammals__elephant"])
    assert is_relevant("/data/demo/animals__mammals__elephant.jpg", ["other", "animals__mammals__elephant"])


def test_is_relevant_by_full_path() -> None:
    assert is_relevant("/data/demo/elephant.jpg", ["/data/demo/elephant.jpg"])


def test_is_relevant_by_path_suffix() -> None:
    assert is_relevant("/data/flickr_audio_8k/123_abc/123_abc.jpg", ["123_abc/123_abc.jpg"])
    assert is_relevant("/data/flickr_audio_8k/123_abc/123_abc.jpg", ["/123_abc/123_abc.jpg"])
    assert is_relevant("/data/demo/elephant.jpg", ["elephant.jpg"])


def test_is_relevant_rejects_partial_names() -> None:
    assert not is_relevant("/data/demo/animals__mammals__elephant.jpg", ["elephant"])
    assert not is_relevant("/data/demo/animals__mammals__elephant.jpg", ["elephant.jpg"])
    assert not is_relevant("/data/demo/animals__mammals__elephant.jpg", ["animals__mammals__elephant.ogg"])
    assert not is_relevant("/data/demo/animals__mammals__elephant.jpg", ["demo/animals"])
    assert not is_relevant("/data/demo/animals__mammals__elephant.jpg", [])


def test_evaluate_recall_values(five_queries) -> None:
    service, queries = five_queries

    summary = evaluate(service, queries, kind="image", progress=False)

    assert summary["queries"] == 5
    assert summary["kind"] == "image"
    assert summary["engine"] == "fixed"
    assert summary["recall@1"] == 0.2
    assert summary["recall@5"] == 0.4
    assert summary["recall@10"] == 0.6
    assert summary["mean_rank"] == 42.6
    assert summary["errors"] == 1


def test_evaluate_per_query_entries(five_queries) -> None:
    service, queries = five_queries

    per_query = evaluate(service, queries, kind="image", progress=False)["per_query"]

    assert [entry["rank"] for entry in per_query] == [1, 3, 7, None, None]
    assert [entry["query"] for entry in per_query] == [query.query for query in queries]
    assert per_query[1]["relevant"] == ["food__fruit__apple_green", "food__fruit__apple_red"]
    assert per_query[0]["top"] == ["animals__mammals__elephant", "filler_1", "filler_2", "filler_3", "filler_4"]
    assert per_query[0]["heard"] == "heard text"
    assert per_query[0]["ms"] == 3.5
    assert per_query[0]["error"] is None
    assert per_query[4]["error"] == "The text query is empty."
    assert per_query[4]["top"] == []


def test_evaluate_searches_to_depth(five_queries) -> None:
    service, queries = five_queries

    summary = evaluate(service, queries, kind="speech", depth=10, progress=False)

    assert {call[3] for call in service.calls} == {10}
    assert {call[2] for call in service.calls} == {"speech"}
    assert summary["mean_rank"] == 6.6


def test_evaluate_all_found_first() -> None:
    service = FixedService(rankings={"an elephant": ranking_with("elephant", 1)})

    summary = evaluate(service, [EvalQuery("an elephant", ["elephant"])], kind="image", progress=False)

    assert summary["recall@1"] == 1.0
    assert summary["recall@10"] == 1.0
    assert summary["mean_rank"] == 1.0
    assert summary["errors"] == 0


def test_query_type_by_file(tmp_path: Path) -> None:
    voice = tmp_path / "voice.ogg"
    voice.write_bytes(b"OggS")
    photo = tmp_path / "photo.JPG"
    photo.write_bytes(b"\xff\xd8")

    assert query_type(str(voice)) == "audio"
    assert query_type(str(photo)) == "image"
    assert query_type(str(tmp_path / "missing.jpg")) == "text"
    assert query_type("a red apple") == "text"


def test_run_query_dispatches(tmp_path: Path) -> None:
    voice = tmp_path / "voice.wav"
    voice.write_bytes(b"RIFF")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG")
    service = FixedService(rankings={})

    run_query(service, str(voice), "image", 20)
    run_query(service, str(photo), "speech", 20)
    run_query(service, "a dog on a beach", "image", 20)

    assert [call[0] for call in service.calls] == ["audio", "image", "text"]


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_read_query_set_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "queries.csv", (
        "query,relevant\n"
        "an elephant,animals__mammals__elephant\n"
        " a red apple , food__fruit__apple_red ; food__fruit__cartoon__apple ;\n"
        ",orphan\n"
        "a unicorn,\n"
    ))

    queries = read_query_set(path)

    assert queries == [
        EvalQuery("an elephant", ["animals__mammals__elephant"]),
        EvalQuery("a red apple", ["food__fruit__apple_red", "food__fruit__cartoon__apple"]),
        EvalQuery("a unicorn", []),
    ]


def test_read_query_set_resolves_files(tmp_path: Path) -> None:
    (tmp_path / "voices").mkdir()
    voice = tmp_path / "voices" / "apple.ogg"
    voice.write_bytes(b"OggS")
    path = write_csv(tmp_path / "queries.csv", "query,relevant\nvoices/apple.ogg,food__fruit__apple_red\n")

    [query] = read_query_set(path)

    assert query.query == str(voice)


def test_read_query_set_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuerySetError, match="does not exist"):
        read_query_set(tmp_path / "queries.csv")


def test_read_query_set_missing_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "queries.csv", "text,target\nan elephant,elephant\n")

    with pytest.raises(QuerySetError, match="needs the columns query,relevant"):
        read_query_set(path)


def test_read_query_set_empty(tmp_path: Path) -> None:
    header_only = write_csv(tmp_path / "header.csv", "query,relevant\n")
    blank = write_csv(tmp_path / "blank.csv", "")

    with pytest.raises(QuerySetError, match="has no queries"):
        read_query_set(header_only)
    with pytest.raises(QuerySetError, match="needs the columns"):
        read_query_set(blank)


def test_read_query_set_byte_order_mark(tmp_path: Path) -> None:
    # Spreadsheet programs such as Excel save "CSV UTF-8" with a byte order mark.
    path = write_csv(tmp_path / "queries.csv", "query,relevant\nan elephant,elephant\n", encoding="utf-8-sig")

    assert read_query_set(path) == [EvalQuery("an elephant", ["elephant"])]


def test_read_query_set_short_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "queries.csv", "query,relevant\nan elephant,elephant\na red apple\n")

    with pytest.raises(QuerySetError):
        read_query_set(path)
