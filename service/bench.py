"""Service benchmarks on loopback (scripts, not tests; numbers are noisy, quote ratios):

  python -m service.bench load [--docs DIR ...] [--workers 1 2 4] [--limit 30]
      p50/p95 job latency and pages/s with N workers, all documents submitted at once, against
      the batch CLI (`run_batch`) on the same documents in the same run;
  python -m service.bench soak [--n 500]
      one worker through N generated documents: its RSS (worker + work horse) sampled as jobs
      end, the curve printed.

Service figures exclude start-up (a service is warm when work arrives); the batch figure is
a whole `folio run`, start-up included, and is also shown without its first document's time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from pipelines.execution.batch import discover, run_batch
from pipelines.execution.config import load_profile
from pipelines.store.workspace import Workspace
from service.loopback import LocalStack

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_DOCS = [DATASETS / "sroie" / "dev" / "docs", DATASETS / "icdar2013_tables" / "dev" / "docs"]


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def service_run(files: list[Path], workers: int, profile: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="folio-svc-bench-") as tmp:
        stack = LocalStack(Path(tmp) / "ws", workers=workers, profile=profile)
        try:
            stack.start(timeout_s=300)
            started = time.time()
            with ThreadPoolExecutor(8) as pool:
                ids = [job["id"] for job in pool.map(stack.submit, files)]
            ended = stack.wait_ended(ids, timeout_s=1800)
            wall = max(_seconds(j["ended_at"]) for j in ended.values()) - started
            latencies = sorted(
                _seconds(j["ended_at"]) - _seconds(j["created_at"]) for j in ended.values()
            )
            pages = sum(j["progress"]["pages_total"] for j in ended.values())
            failures = [j for j in ended.values() if j["state"] != "finished"]
            failed = len(failures)
            for job in failures:
                print(f"  failed: {job['filename']}: {job['failure']}: {job['reason']}")
        finally:
            stack.stop()
    return {
        "jobs": len(ended),
        "failed": failed,
        "pages": pages,
        "seconds": wall,
        "pages_per_s": pages / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def batch_run(files: list[Path], workers: int, profile: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="folio-batch-bench-") as tmp:
        started = time.perf_counter()
        summary = run_batch(files, load_profile(profile), Workspace.open(Path(tmp)), workers)
        seconds = time.perf_counter() - started
    return {"pages": summary.n_pages, "seconds": seconds, "pages_per_s": summary.n_pages / seconds}


def load(docs: list[Path], worker_counts: list[int], limit: int, profile: str) -> None:
    files = discover(docs)[0][:limit]
    rows = []
    for workers in worker_counts:
        service = service_run(files, workers, profile)
        batch = batch_run(files, workers, profile)
        rows.append((workers, service, batch))
        print(
            f"{workers} workers: service {service['pages_per_s']:.2f} p/s "
            f"(p50 {service['p50_s']:.1f} s, p95 {service['p95_s']:.1f} s, "
            f"{service['failed']:.0f} failed), batch {batch['pages_per_s']:.2f} p/s",
            flush=True,
        )
    print(f"\n{len(files)} documents, profile {profile}; all submitted at once\n")
    print(
        "| workers | service pages/s | p50 latency s | p95 latency s | batch pages/s "
        "(start-up included) | service / batch |"
    )
    print("|---|---|---|---|---|---|")
    for workers, service, batch in rows:
        print(
            f"| {workers} | {service['pages_per_s']:.2f} | {service['p50_s']:.1f} | "
            f"{service['p95_s']:.1f} | {batch['pages_per_s']:.2f} | "
            f"{service['pages_per_s'] / batch['pages_per_s']:.2f}x |"
        )


def soak(n: int, profile: str, every: int) -> None:
    from tests.invoice_generator import write_set  # generated documents: a dev-only helper

    with tempfile.TemporaryDirectory(prefix="folio-soak-") as tmp:
        write_set(Path(tmp) / "in", n)
        files = sorted((Path(tmp) / "in" / "docs").glob("*.pdf"))
        stack = LocalStack(Path(tmp) / "ws", workers=1, profile=profile)
        curve = []
        try:
            stack.start(timeout_s=300)
            pending = []
            for index, path in enumerate(files, 1):
                pending.append(stack.submit(path)["id"])
                if index % every == 0 or index == len(files):
                    stack.wait_ended(pending, timeout_s=600)
                    pending = []
                    rss = [
                        v
                        for k, v in stack.metrics().items()
                        if k.startswith("folio_worker_rss_bytes")
                    ]
                    curve.append((index, max(rss) / 2**20 if rss else 0.0))
                    print(f"{index:5d} documents: worker RSS {curve[-1][1]:.0f} MB", flush=True)
        finally:
            stack.stop()
    first, last = curve[0][1], curve[-1][1]
    peak = max(mb for _, mb in curve)
    print(
        f"\nRSS after {curve[0][0]} documents {first:.0f} MB, after {curve[-1][0]} "
        f"{last:.0f} MB (x{last / first:.2f}), peak {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    load_args = sub.add_parser("load")
    load_args.add_argument("--docs", type=Path, nargs="*", default=DEFAULT_DOCS)
    load_args.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    load_args.add_argument("--limit", type=int, default=30)
    load_args.add_argument("--profile", default="default")
    soak_args = sub.add_parser("soak")
    soak_args.add_argument("--n", type=int, default=500)
    soak_args.add_argument("--every", type=int, default=25)
    soak_args.add_argument("--profile", default="default")
    args = parser.parse_args()
    if args.command == "load":
        load(args.docs, args.workers, args.limit, args.profile)
    else:
        soak(args.n, args.profile, args.every)


if __name__ == "__main__":
    main()
