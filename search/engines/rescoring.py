"""Re-scoring of candidate captions by the speech recogniser itself.

Whisper often mishears short isolated words ("A crow." → "Pro."), and a
wrong transcript embeds far from the right caption. The decoder's own
probability of a caption given the recording is much more forgiving: the
audio of "a crow" gives "A crow" a far higher probability than "A frog",
whatever the best transcript was. Scoring every caption costs seconds, so
candidates come first from two cheap signals: sentence-embedding similarity
to the n-best transcripts, and character-trigram overlap with them (which
catches near-homophones that embed far apart).

The decoder scores a text from the start of the recording, so each caption
is placed where it occurs in the recording: after the words heard before the
caption's first word ("brown" + "horse" for "brown horse standing in a
field"), or, when none of its words was heard, after the request words
("Show me" + "a dog"). Only the caption's own tokens count in its score.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from search.encoders.speech_to_text import Heard, SpeechRecognizer

# Words that open a spoken request rather than name what is wanted.
REQUEST_WORDS = frozenset(
    "a an the some any show me find search for look looking i i'm im am want to see get give display "
    "can could you do does have has got is are there where please picture pictures photo photos image "
    "images of let's lets need with and um uh so okay ok hey now just bring up what about would like".split()
)
ARTICLES = frozenset({"a", "an", "the", "some"})

# Weight of the embedding cosine against the mean token log-probability in the fused
# score. The transcript's embedding is trusted more when the recogniser was sure of it.
MIN_EMBEDDING_WEIGHT = 2.0
CONFIDENT_EMBEDDING_WEIGHT = 6.0


def embedding_weight(heard: Heard) -> float:
    """2 for a transcript the recogniser doubts, up to 8 for one it is certain of."""
    confidence = float(np.exp(min(heard.avg_logprob, 0.0)))
    return MIN_EMBEDDING_WEIGHT + CONFIDENT_EMBEDDING_WEIGHT * confidence


def _word(token: str) -> str:
    return re.sub(r"[^a-z']", "", token.lower())


def request_prefix(hypothesis: str) -> str:
    """Return the leading request words of a transcript, without a final article ("Show me a dog" → "Show me")."""
    words = hypothesis.split()
    prefix = []
    for word in words:
        if _word(word) not in REQUEST_WORDS:
            break
        prefix.append(word)
    if len(prefix) == len(words):
        return ""
    while prefix and _word(prefix[-1]) in ARTICLES:
        prefix.pop()
    return " ".join(prefix)


def spoken_form(text: str) -> str:
    """A caption as someone would ask for it: its first sentence, without quotes or closing punctuation.

    People name the thing ("a stop sign"), not the caption's whole description. The unspoken
    words of a long caption would drag its mean log-probability down.
    """
    text = re.sub(r"[“”\"«»]", "", text).strip()
    first = re.split(r"(?<=[.!?…])\s+", text, maxsplit=1)[0]
    return re.sub(r"[.!?…]+$", "", first).strip()


def _trigrams(text: str) -> set[str]:
    words = [w for w in re.sub(r"[^a-z ]", " ", text.lower()).split() if w not in ARTICLES]
    padded = f" {' '.join(words)} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class CaptionTable:
    """The texts that candidate items are scored with, and their trigrams, for one collection and kind."""

    def __init__(self, item_ids: list[int], texts: list[str]) -> None:
        self.item_ids = item_ids
        self.texts = [spoken_form(text) for text in texts]
        self._trigrams = [_trigrams(text) for text in self.texts]
        self.row = {item_id: row for row, item_id in enumerate(item_ids)}

    def __len__(self) -> int:
        return len(self.item_ids)

    def rows_of(self, texts: set[str]) -> set[int]:
        return {row for row, text in enumerate(self.texts) if text in texts}

    def trigram_similarity(self, hypotheses: list[str]) -> np.ndarray:
        best = np.zeros(len(self), dtype=np.float32)
        for hypothesis in hypotheses:
            grams = _trigrams(hypothesis)
            if not grams:
                continue
            overlap = np.array([len(grams & other) / len(grams | other) if other else 0.0
                                for other in self._trigrams], dtype=np.float32)
            best = np.maximum(best, overlap)
        return best


def after_prefix(prefix: str, text: str) -> str:
    """Return a caption as it continues a request: after "Show me", "A dog" becomes "a dog"."""
    return f"{text[:1].lower()}{text[1:]}" if prefix else text


def _stem(word: str) -> str:
    word = _word(word)
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def place_in_transcript(transcript: str, text: str) -> tuple[str | None, str]:
    """Find where a caption's words start in the transcript: (words heard before them, caption to score).

    "brown horse standing in a field" and "A horse" give ("brown", "horse"): the caption is
    scored where the recording says it, not from the recording's first word. Returns
    (None, text) when no word of the caption, other than articles and request words, was heard.
    """
    content = {_stem(word) for word in text.split()} - {_stem(word) for word in REQUEST_WORDS} - {""}
    heard = transcript.split()
    for index, word in enumerate(heard):
        if _stem(word) in content:
            words = text.split()
            while words and _word(words[0]) in ARTICLES:
                words.pop(0)
            said = " ".join(words)
            if index > 0:
                said = said[:1].lower() + said[1:]
            return " ".join(heard[:index]), said
    return None, text


def _likely_openings(recognizer: SpeechRecognizer, heard: Heard, table: CaptionTable, prefix: str,
                     count: int) -> set[str]:
    """Return the `count` distinct texts whose first two tokens the recording makes likeliest."""
    texts = sorted(set(table.texts))
    if not texts or count <= 0:
        return set()
    spoken = [f"{prefix} {after_prefix(prefix, text)}" if prefix else text for text in texts]
    scores = recognizer.opening_scores(heard, recognizer.tokenize(spoken))
    return {texts[i] for i in np.argsort(-scores)[:count]}


def rescore(recognizer: SpeechRecognizer, heard: Heard, table: CaptionTable, candidates: set[int],
            cosines: Callable[[list[int]], np.ndarray], trigram_candidates: int,
            opening_candidates: int) -> list[tuple[int, float]]:
    """Fuse decoder log-probabilities with embedding cosines for the candidate items, best first.

    Candidates are the item ids found by embedding similarity (`candidates`), the
    `trigram_candidates` items with the most trigram overlap with the transcripts, and the
    items of the `opening_candidates` texts whose opening the recording makes likeliest.
    `cosines(ids)` returns each item's best embedding cosine with the transcripts.
    """
    prefix = request_prefix(heard.text)
    overlap = table.trigram_similarity(heard.hypotheses)
    rows = {table.row[item_id] for item_id in candidates if item_id in table.row}
    rows |= set(np.argsort(-overlap)[:trigram_candidates].tolist())
    rows |= table.rows_of(_likely_openings(recognizer, heard, table, prefix, opening_candidates))
    rows = sorted(rows)
    if not rows:
        return []

    texts = sorted({table.texts[row] for row in rows})
    placed = [place_in_transcript(heard.text, text) for text in texts]
    contexts = [context if context is not None else prefix for context, _ in placed]
    spoken = [said if context is not None else after_prefix(prefix, text)
              for (context, said), text in zip(placed, texts)]
    logprob = dict(zip(texts, recognizer.score_texts(heard, spoken, contexts)))

    item_ids = [table.item_ids[row] for row in rows]
    similarity = cosines(item_ids)
    weight = embedding_weight(heard)
    fused = [
        (item_id, float(logprob[table.texts[row]] + weight * cosine))
        for item_id, row, cosine in zip(item_ids, rows, similarity)
    ]
    return sorted(fused, key=lambda pair: pair[1], reverse=True)
