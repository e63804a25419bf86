"""The cascade engine: speech → text → sentence embeddings; pictures → features and classes.

It needs no training on the collection: Whisper turns a voice query into
text, the sentence encoder compares that text with each picture's caption
and ImageNet classes, and picture queries are compared by EfficientNet-Lite0
features (with pictures) or by their classes in text (with spoken captions).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from search.audio import DecodedAudio
from search.collection import Collection
from search.engines.base import Engine, Ranking, StageTimer
from search.errors import NoSpeechError
from search.engines.rescoring import CaptionTable, rescore
from search.spaces import labels_vector

# Minimum cosine for a hit to count as a match, per space.
# NOTE: set by eye on a few demo queries, not calibrated on a labelled set.
MIN_TEXT_SCORE = 0.35
MIN_VISUAL_SCORE = 0.45
MIN_PICTURE_TO_SPEECH_SCORE = 0.35

# Share of the visual match (through the spoken caption's paired picture)
# against the text match (picture classes against the transcript).
VISUAL_WEIGHT = 0.6

# How many neighbours each path contributes before the paths are fused or re-scored.
CANDIDATES = 20
TRIGRAM_CANDIDATES = 20
OPENING_CANDIDATES = 30

# Minimum fused score (mean token log-probability plus weighted cosine, see
# `search.engines.rescoring`) of a voice query's match.
# NOTE: a compromise, not a clean cut. On the held-out demo query sets, right first
# results scored from -5.7 up and wrong ones from -6.4 up (most of them -5.6 to -3);
# -5 hides 3 of 92 right first results and a third of the wrong ones.
MIN_RESCORED_SCORE = -5.0


class CascadeEngine(Engine):
    name = "cascade"

    def __init__(self, models) -> None:
        self.models = models
        self._tables: dict[tuple, CaptionTable] = {}

    def needed(self) -> list[tuple[str, str]]:
        return [("image", "text"), ("image", "visual"), ("speech", "text")]

    def model_roles(self) -> list[str]:
        return ["recognizer", "text", "vision"]

    def rank_audio(self, collection: Collection, audio: DecodedAudio, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        with timer.stage("transcribe"):
            heard = self.models.recognizer.listen(audio.samples)
        if not heard.is_speech:
            raise NoSpeechError("No speech was heard in the recording. Try again and say what you are looking for.")

        with timer.stage("embed"):
            queries = self.models.text.embed(heard.hypotheses)
        index = collection.index(kind, "text")
        with timer.stage("search"):
            candidates = {item_id for query in queries for item_id, _ in index.search(query, CANDIDATES)}

        def cosines(item_ids: list[int]) -> np.ndarray:
            vectors = np.stack([index.vector(item_id) for item_id in item_ids])
            return (vectors @ queries.T).max(axis=1)

        with timer.stage("rescore"):
            table = self._caption_table(collection, kind)
            scored = rescore(self.models.recognizer, heard, table, candidates, cosines, TRIGRAM_CANDIDATES,
                             OPENING_CANDIDATES)
        return Ranking(scored=scored[:top_k], min_score=MIN_RESCORED_SCORE, heard=heard.text)

    def _caption_table(self, collection: Collection, kind: str) -> CaptionTable:
        """Texts that voice queries are scored against: captions, else transcripts or top classes."""
        items = collection.store.items(collection.name, kind)
        key = (collection.name, kind, len(items), items[-1].item_id if items else 0)
        if key not in self._tables:
            texts = []
            for item in items:
                if kind == "speech":
                    fallback = item.transcript
                elif item.labels:
                    fallback = item.labels[0][0]
                else:
                    fallback = ""
                texts.append(item.caption or fallback or "")
            self._tables = {key: CaptionTable([item.item_id for item in items], texts)}
        return self._tables[key]

    def rank_text(self, collection: Collection, text: str, kind: str, top_k: int,
                  timer: StageTimer) -> Ranking:
        with timer.stage("embed"):
            vector = self.models.text.embed([text])[0]
        with timer.stage("search"):
            scored = collection.index(kind, "text").search(vector, top_k)
        return Ranking(scored=scored, min_score=MIN_TEXT_SCORE)

    def rank_image(self, collection: Collection, image: Image.Image, kind: str, top_k: int,
                   timer: StageTimer) -> Ranking:
        with timer.stage("encode"):
            features, labels = self.models.vision.encode(self.models.vision.preprocess(image).unsqueeze(0))
        feature, found = features[0], labels[0]

        if kind == "image":
            with timer.stage("search"):
                scored = collection.index("image", "visual").search(feature, top_k)
            return Ranking(scored=scored, min_score=MIN_VISUAL_SCORE)

        with timer.stage("embed"):
            from_labels = labels_vector(self.models, list(zip(found.names, found.probs)))
        with timer.stage("search"):
            scored = self._picture_to_speech(collection, feature, from_labels, top_k)
        ranking = Ranking(scored=scored, min_score=MIN_PICTURE_TO_SPEECH_SCORE)
        ranking.heard = None
        ranking.notes.append(f"The picture looks like: {found.as_text()}.")
        return ranking

    def _picture_to_speech(self, collection: Collection, feature: np.ndarray, from_labels: np.ndarray | None,
                           top_k: int) -> list[tuple[int, float]]:
        """Fuse the visual match of each spoken caption's paired picture with the text match of the classes."""
        visual: dict[int, float] = {}
        neighbours = collection.index("image", "visual").search(feature, CANDIDATES)
        images = collection.store.get([item_id for item_id, _ in neighbours])
        keys = {images[item_id].pair_key: score for item_id, score in neighbours
                if item_id in images and images[item_id].pair_key}
        for key, speech_items in collection.store.paired(collection.name, "speech", list(keys)).items():
            for item in speech_items:
                visual[item.item_id] = max(visual.get(item.item_id, 0.0), keys[key])

        speech_index = collection.index("speech", "text")
        textual: dict[int, float] = {}
        if from_labels is not None:
            textual = dict(speech_index.search(from_labels, CANDIDATES))
            for item_id in visual:
                if item_id not in textual and item_id in speech_index.ids():
                    textual[item_id] = float(speech_index.vector(item_id) @ from_labels)

        fused = {
            item_id: VISUAL_WEIGHT * visual.get(item_id, 0.0) + (1 - VISUAL_WEIGHT) * textual.get(item_id, 0.0)
            for item_id in set(visual) | set(textual)
        }
        return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)[:top_k]
