"""Picture ingest throughput: batched ingest against one file at a time.

The one-at-a-time loop is what a research notebook does: open a picture,
preprocess it, run a plain PyTorch model on a batch of one, next picture.
Ingest decodes pictures in two threads and encodes them in channels-last
batches of 8, then stores and indexes them. Both use the same EfficientNet-Lite0
weights on the same demo pictures; ingest writes into a throw-away data folder.

    .venv/bin/python benchmarks/ingest_throughput.py [--items 160]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from search.collection import Collection
from search.config import Settings
from search.image import load_image
from search.ingest import ingest
from search.layouts import folder_sources
from search.models import ModelSet
from search.service import DEMO_SOURCE, open_store


def notebook_model():
    """Load the same EfficientNet-Lite0 weights into a plain timm model, as a notebook would."""
    import timm

    from search.encoders.vision import default_vision_weights

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(default_vision_weights(), map_location="cpu", weights_only=True)
    model.load_state_dict(dict(zip(model.state_dict().keys(), state.values())))
    return model.eval()


def one_at_a_time(models: ModelSet, paths: list[Path]) -> float:
    model = notebook_model()
    started = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            image = load_image(path, models.settings.max_image_pixels)
            model(models.vision.preprocess(image).unsqueeze(0))
    return len(paths) / (time.perf_counter() - started)


def batched_ingest(settings: Settings, models: ModelSet, sources) -> float:
    collection = Collection(settings.data_dir, "throughput", open_store(settings), models)
    report = ingest(collection, sources, [("image", "visual")], progress=False)
    return report.added["image"] / report.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=160, help="number of demo pictures")
    args = parser.parse_args()

    sources = [s for s in folder_sources(DEMO_SOURCE).sources if s.kind == "image"][: args.items]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        models = ModelSet(settings)
        models.vision  # load outside the timed part
        print(f"{len(sources)} pictures, {torch.get_num_threads()} torch threads")

        single = one_at_a_time(models, [s.path for s in sources])
        print(f"one at a time (decode and encode only):             {single:6.1f} pictures/s")
        batched = batched_ingest(settings, models, sources)
        print(f"batched ingest (hash, decode, encode, store, index): {batched:6.1f} pictures/s")
        print(f"speed-up: {batched / single:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
