"""Kill `folio run` at random points, again and again, while `folio sql`-style readers and a
reviewer's corrections run beside it; then rerun to the end and check that every document is in
the workspace exactly once, nothing finished was reprocessed as failed, and no correction or
run record is lost.

    python -m tests.integration.batch_kill ../shared/datasets/sroie/train/docs --kills 5
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.store.corrections import Correction, journal
from pipelines.store.loader import load_staged
from pipelines.store.query import run_user_sql
from pipelines.store.workspace import Workspace


@dataclass
class KillReport:
    kills: int = 0
    documents: int = 0
    failed: int = 0
    queries: int = 0
    corrections: int = 0
    errors: list[str] = field(default_factory=list)


def _batch(inputs: Path, workspace: Path, profile: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pipelines.cli", "run", str(inputs), "-w", str(workspace)]
    return subprocess.Popen(
        [*command, "-p", profile],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill takes the batch and its workers together
    )


def _readers_and_reviewer(workspace: Workspace, stop: threading.Event, report: KillReport) -> None:
    """What an analyst and a reviewer do meanwhile; any exception is a failure of the design."""
    written: set[str] = set()
    while not stop.is_set():
        try:
            rows = run_user_sql(
                workspace, "SELECT document_id, result_id FROM documents ORDER BY random() LIMIT 1"
            ).to_pylist()
            report.queries += 1
            if rows and len(written) < 200:
                correction = journal(
                    workspace,
                    Correction(
                        document_id=rows[0]["document_id"],
                        result_id=rows[0]["result_id"],
                        target_type="document",
                        target_id=rows[0]["document_id"],
                        action="accept",
                        reviewer="kill-test",
                    ),
                )
                written.add(correction.correction_id)
        except Exception as error:
            report.errors.append(f"{type(error).__name__}: {error}")
        time.sleep(0.2)
    report.corrections = len(written)
    load_staged(workspace)
    stored = set(
        run_user_sql(workspace, "SELECT correction_id FROM corrections").column(0).to_pylist()
    )
    if not written <= stored:
        report.errors.append(f"{len(written - stored)} corrections lost")


def kill_and_rerun(
    inputs: Path, root: Path, kills: int, profile: str = "default", seed: int = 0
) -> KillReport:
    rng = random.Random(seed)
    report = KillReport()
    workspace = Workspace.open(root)
    stop = threading.Event()
    side = threading.Thread(target=_readers_and_reviewer, args=(workspace, stop, report))
    side.start()
    try:
        for _ in range(kills):
            batch = _batch(inputs, root, profile)
            time.sleep(rng.uniform(3.0, 25.0))
            if batch.poll() is not None:
                break  # it finished before the kill: nothing left to interrupt
            os.killpg(batch.pid, signal.SIGKILL)
            batch.wait()
            report.kills += 1
        final = _batch(inputs, root, profile)
        if final.wait() != 0:
            report.errors.append(f"the final rerun exited with {final.returncode}")
    finally:
        stop.set()
        side.join()
    counts = run_user_sql(
        workspace,
        "SELECT count(*) AS n, count(DISTINCT document_id) AS distinct_docs, "
        "count(*) FILTER (WHERE status = 'failed') AS failed FROM documents",
    ).to_pylist()[0]
    report.documents, report.failed = counts["n"], counts["failed"]
    if counts["n"] != counts["distinct_docs"]:
        report.errors.append("a document is in the workspace twice")
    results = run_user_sql(workspace, "SELECT count(*) FROM results").column(0)[0].as_py()
    if results != counts["n"]:
        report.errors.append(f"{results} results for {counts['n']} documents: one was duplicated")
    stuck = run_user_sql(workspace, "SELECT count(*) FROM runs WHERE state = 'running'").column(0)[
        0
    ]
    if stuck.as_py() > report.kills:
        report.errors.append("a run that was not killed is still 'running'")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = kill_and_rerun(args.inputs, Path(tmp) / "ws", args.kills, args.profile, args.seed)
    print(
        f"{report.kills} kills, then a rerun: {report.documents} documents "
        f"({report.failed} failed), {report.queries} queries and {report.corrections} "
        f"corrections beside it, errors: {report.errors or 'none'}"
    )
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
