"""What the understanding stages cost per page (a script, not a test; quote medians).

    python -m pipelines.evaluation.bench_understanding SPLIT_DIR... [--limit N] [--profile P]

Runs the profile over each dataset split (its `index.jsonl` items) in this process and reads
each document's own stage timings (`pipeline.timings_ms`, measured around every stage as the
pipeline runs): the understanding stages' milliseconds per page, median over documents. (A
document's wall time is no baseline here: documents share page batches, so it includes waiting.)
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

from extractors.document import Document
from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import load_profile
from pipelines.execution.pipeline import Pipeline

UNDERSTANDING = ("entities.", "classify.", "forms.", "relations.", "fields.")


def stage_ms_per_page(document: Document) -> dict[str, float]:
    """The document's understanding stages' time per page, each and together."""
    pages = max(1, len(document.pages))
    timings = document.pipeline.timings_ms if document.pipeline else {}
    out = {k: v / pages for k, v in timings.items() if k.startswith(UNDERSTANDING)}
    out["understanding"] = sum(out.values())
    return out


def bench(split_dirs: Sequence[Path], profile: str = "default", limit: int | None = 20) -> str:
    pipeline = Pipeline(load_profile(profile))
    lines = []
    for split_dir in split_dirs:
        items = dataset_items(split_dir, limit)
        documents = list(pipeline.process_many([(split_dir / it["doc"], None) for it in items]))
        per_doc = [stage_ms_per_page(d) for d in documents[1:] or documents]  # first: warm-up
        names = sorted(
            {k for d in per_doc for k in d}, key=lambda k: (k in ("understanding", "all"), k)
        )
        medians = {k: statistics.median(d.get(k, 0.0) for d in per_doc) for k in names}
        cells = ", ".join(f"{k} {v:.1f}" for k, v in medians.items())
        lines.append(
            f"{split_dir.parent.name}/{split_dir.name} ({len(per_doc)} docs) ms/page: {cells}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split_dirs", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    print(bench(args.split_dirs, args.profile, args.limit))
