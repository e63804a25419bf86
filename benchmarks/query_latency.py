"""Query latency per stage, p50/p95, for a short voice note and a photo.

Model loading is excluded: the service is opened first, then each query
runs `--repeat` times (after one warm-up query). Run:

    .venv/bin/python benchmarks/query_latency.py [--data-dir var] [--repeat 20]

The default voice note is a 1.6 s Telegram voice note from the shared test
fixtures when present; pass `--audio FILE` for another (for example a 2 s note).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from search.config import Settings
from search.service import SearchService

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "telegram"


def percentiles(values: list[float]) -> str:
    return f"p50 {np.percentile(values, 50):7.1f} ms  p95 {np.percentile(values, 95):7.1f} ms"


def measure(label: str, run, repeat: int) -> None:
    run()
    stages: dict[str, list[float]] = {}
    totals = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        totals.append((time.perf_counter() - started) * 1000)
        for stage, ms in result.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    print(f"{label}: {repeat} queries")
    for stage, values in stages.items():
        print(f"  {stage:<12} {percentiles(values)}")
    print(f"  {'total':<12} {percentiles(totals)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--engine", default="cascade")
    parser.add_argument("--audio", type=Path, default=FIXTURES / "voice_red_apple.ogg")
    parser.add_argument("--image", type=Path, default=FIXTURES / "photo_dog_exif_rotated.jpg")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    service = SearchService.open(Settings.from_env(data_dir=args.data_dir, engine=args.engine), progress=True)
    print(f"engine {service.engine_name}, opened in {time.perf_counter() - started:.1f} s (not counted below)")
    measure(f"voice → pictures ({args.audio.name})", lambda: service.query_audio(args.audio, "image"), args.repeat)
    measure(f"photo → spoken captions ({args.image.name})", lambda: service.query_image(args.image, "speech"),
            args.repeat)
    measure("text → pictures", lambda: service.query_text("a red apple", "image"), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
