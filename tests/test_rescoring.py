"""Request prefixes, spoken forms and trigram candidates of the caption re-scoring."""

from __future__ import annotations

import numpy as np
import pytest

from search.engines.rescoring import CaptionTable, place_in_transcript, request_prefix, spoken_form


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("Show me a red apple.", "Show me"),
        ("a picture of a crown's grin.", "a picture of"),
        ("Can you find the strawberry?", "Can you find"),
        ("I'm looking for the cow.", "I'm looking for"),
        ("Do you have a picture of a mountain goat?", "Do you have a picture of"),
        ("An elephant.", ""),
        ("A dog running on the beach.", ""),
        ("Please.", ""),
        ("", ""),
    ],
)
def test_request_prefix(transcript: str, expected: str) -> None:
    assert request_prefix(transcript) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("A dog.", "A dog"),
        ("A “Fuji” apple.", "A Fuji apple"),
        ("Fire! Fire! Fire!", "Fire"),
        ("A “Stop” sign. Stop here, then go when it’s your turn.", "A Stop sign"),
        ("  A fire truck  ", "A fire truck"),
    ],
)
def test_spoken_form(caption: str, expected: str) -> None:
    assert spoken_form(caption) == expected


def test_trigram_similarity_finds_near_homophone() -> None:
    table = CaptionTable([10, 11, 12], ["A wombat.", "A frog.", "A fire truck."])

    similarity = table.trigram_similarity(["Warm bat."])

    assert similarity.shape == (3,)
    assert int(np.argmax(similarity)) == 0
    assert similarity[1] == 0.0


def test_trigram_similarity_takes_best_hypothesis() -> None:
    table = CaptionTable([1, 2], ["A frog.", "A fire truck."])

    similarity = table.trigram_similarity(["a flog", "fire truck"])

    assert similarity[1] == pytest.approx(1.0)
    assert similarity[0] > 0.0


def test_trigram_similarity_of_empty_hypotheses_is_zero() -> None:
    table = CaptionTable([1], ["A frog."])

    assert table.trigram_similarity([]).tolist() == [0.0]
    assert table.trigram_similarity(["..."]).tolist() == [0.0]


@pytest.mark.parametrize(
    ("transcript", "caption", "expected"),
    [
        ("ground horse standing in a field.", "A horse", ("ground", "horse")),
        ("Show me a red apple.", "A red apple", ("Show me a", "red apple")),
        ("A big red fire truck.", "A fire truck", ("A big red", "fire truck")),
        ("Chimp.", "A chimp", ("", "chimp")),
        ("Two dogs.", "A dog", ("Two", "dog")),
        ("Not running on the beach.", "A dog", (None, "A dog")),
        ("Show me a picture.", "A picture of a cat", (None, "A picture of a cat")),
    ],
)
def test_place_in_transcript(transcript: str, caption: str, expected: tuple) -> None:
    assert place_in_transcript(transcript, caption) == expected
