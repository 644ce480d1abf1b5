"""Record an evaluation in the workspace and say what changed since the previous one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipelines.execution.config import PipelineConfig
from pipelines.store.database import StoreBusyError, query
from pipelines.store.evaluations import Metric, evaluation_record, stage_evaluation
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace

Change = tuple[Metric, float | None]  # a metric and its value in the previous evaluation


def previous_values(
    workspace: Workspace, dataset: str, split: str, profile: str
) -> dict[tuple[str, str, str], float]:
    """The metrics of the latest recorded evaluation of this dataset, split and profile."""
    if not workspace.db_path.exists():
        return {}
    try:
        table = query(
            workspace,
            "SELECT task, metric, scope, value FROM eval_history WHERE eval_run_id = ("
            "  SELECT eval_run_id FROM eval_runs WHERE dataset = ? AND split = ? AND profile = ?"
            "  ORDER BY started_at DESC LIMIT 1)",
            [dataset, split, profile],
        )
    except (StoreBusyError, ValueError):
        return {}
    return {(r["task"], r["metric"], r["scope"]): r["value"] for r in table.to_pylist()}


def record_evaluation(
    workspace: Workspace,
    dataset: Path,
    split: str,
    config: PipelineConfig,
    metrics: Sequence[Metric],
    n_items: int,
    elapsed_s: float,
    command: str,
) -> list[Change]:
    """Stage the evaluation (the loader writes it) and return each metric with its previous
    value."""
    name = dataset.resolve().name
    before = previous_values(workspace, name, split, config.name)
    run = {
        "started_at": datetime.now(UTC).isoformat(),
        "dataset": name,
        "split": split,
        "profile": config.name,
        "config_hash": config.config_hash(),
        "stage_versions": config.stage_versions(),
        "n_items": n_items,
        "elapsed_s": round(elapsed_s, 3),
        "command": command,
    }
    record = evaluation_record(f"eval-{uuid.uuid4().hex[:12]}", run, list(metrics))
    stage_evaluation(workspace, record)
    with contextlib.suppress(StoreBusyError):  # staged: the next load writes it
        load_staged(workspace, kinds=["evals"])
    return [(m, before.get((m.task, m.metric, m.scope))) for m in metrics]


def format_changes(changes: Sequence[Change]) -> str:
    """The metrics as a table, with the change since the previous evaluation."""
    lines = [f"{'task':<8} {'metric':<16} {'scope':<18} {'value':>8} {'previous':>9} {'change':>8}"]
    for metric, previous in changes:
        before = f"{previous:9.4f}" if previous is not None else f"{'-':>9}"
        delta = f"{metric.value - previous:+8.4f}" if previous is not None else f"{'new':>8}"
        lines.append(
            f"{metric.task:<8} {metric.metric:<16} {metric.scope[:18]:<18} "
            f"{metric.value:8.4f} {before} {delta}"
        )
    return "\n".join(lines)
