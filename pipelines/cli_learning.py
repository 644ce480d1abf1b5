"""`folio train`, `folio calibrate` and `folio evaluate-learning`: learning from the workspace's
reviews and from labelled datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli import WorkspaceOpt, _device, _fail, app, console
from pipelines.store.workspace import Workspace


@app.command()
def train(
    workspace: WorkspaceOpt = None,
    min_documents: Annotated[
        int, typer.Option(help="reviewed form documents before a labeller is fitted")
    ] = 10,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto")] = "cpu",
    calibrate: Annotated[
        bool, typer.Option(help="also fit confidence calibration on the reviews")
    ] = True,
    list_versions: Annotated[
        bool, typer.Option("--list", help="list the model versions; train nothing")
    ] = False,
    activate_version: Annotated[
        str | None, typer.Option("--activate", help="put this version in use; train nothing")
    ] = None,
    task: Annotated[
        str, typer.Option(help="--activate: forms.kv (form labeller) or classify.doctype")
    ] = "forms.kv",
) -> None:
    """Learn from reviewed documents: fit the form labeller (KEY/VALUE/HEADER) and the
    document-type classifier on them, keep each only when it beats the current one on held-back
    reviewed documents, and refit the confidence calibration. Later `folio run` batches use
    the active versions."""
    from pipelines.learning.registry import LEARNED_STAGES
    from pipelines.security.principal import cli_principal

    ws = Workspace.open(workspace)
    if activate_version:
        from pipelines.learning.train import activate_as

        if task not in LEARNED_STAGES:
            _fail(f"--task must be one of {', '.join(LEARNED_STAGES)}")
        try:
            chosen = activate_as(ws, cli_principal(), task, activate_version)
        except ValueError as error:
            _fail(str(error))
        console.print(f"{task}: {chosen.version} is now in use")
        return
    if list_versions:
        _print_versions(ws)
        return
    from pipelines.learning.fit import TorchMissing
    from pipelines.learning.train import train_as

    try:
        reports = train_as(ws, cli_principal(), min_documents, device=_device(device))
    except TorchMissing as error:
        _fail(str(error))
    for report in reports:
        console.print(f"{report.task}: {report.reason}")
        if report.version is not None:
            console.print(f"  stored as {report.version.version} ({report.version.path})")
    if calibrate:
        from pipelines.evaluation.review_calibration import fit_workspace, write_calibration

        fitted = fit_workspace(ws)
        if fitted:
            path = write_calibration(ws, fitted)
            for f in fitted:
                console.print(
                    f"calibration {f.key}: ECE {f.ece_before:.4f} -> {f.ece_after:.4f} "
                    f"on {f.held_back} held-back items"
                )
            console.print(f"written: {path}")


def _print_versions(ws: Workspace) -> None:
    from pipelines.learning.registry import LEARNED_STAGES, active, versions

    known = [v for task in LEARNED_STAGES for v in versions(ws, task)]
    if not known:
        console.print("no model versions yet (folio train makes them)")
        return
    in_use = {task: active(ws, task) for task in LEARNED_STAGES}
    table = Table("task", "version", "trained at", "documents", "cross-validated", "against", "")
    for v in known:
        r, current = v.report, in_use.get(v.task)
        table.add_row(
            v.task, v.version, str(r.get("trained_at", ""))[:19], str(r.get("documents")),
            f"{r.get('score', '')} {r.get('held_back_score', 0):.3f}",
            f"{r.get('measured_against')} {r.get('current_score', 0):.3f}",
            "in use" if current is not None and current.version == v.version else "",
        )  # fmt: skip
    console.print(table)


@app.command("evaluate-learning")
def evaluate_learning_command(
    dataset: Annotated[Path, typer.Argument(help="a FUNSD-style dataset folder")],
    documents: Annotated[int, typer.Option(help="training forms to review and learn from")] = 20,
    train_split: Annotated[str, typer.Option(help="where the reviewed forms come from")] = "train",
    eval_split: Annotated[str, typer.Option(help="where the models are compared")] = "dev",
    seed: Annotated[int, typer.Option(help="seed of the sample of training forms")] = 0,
) -> None:
    """The learning loop end to end: review `documents` training forms from their ground truth,
    run folio train on them, and score the rules, the candidate and the model in use."""
    from pipelines.evaluation.evaluate_learning import evaluate_learning, format_learning
    from pipelines.learning.fit import TorchMissing

    if not (dataset / train_split / "index.jsonl").is_file():
        _fail(f"{dataset / train_split} has no index.jsonl")
    try:
        result = evaluate_learning(dataset, documents, train_split, eval_split, seed)
    except TorchMissing as error:
        _fail(str(error))
    console.print(format_learning(result, eval_split))


@app.command()
def calibrate(
    workspace: WorkspaceOpt = None,
    min_items: Annotated[int, typer.Option(help="items of one kind and stage before fitting")] = 50,
    dataset: Annotated[
        list[Path] | None,
        typer.Option(help="calibrate on this labelled dataset instead of the reviews (repeat)"),
    ] = None,
    fit_split: Annotated[str, typer.Option(help="--dataset: the split the maps are fitted on")] = (
        "train"
    ),
    eval_split: Annotated[str, typer.Option(help="--dataset: the split they are measured on")] = (
        "dev"
    ),
    limit: Annotated[int | None, typer.Option(help="--dataset: items per split")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
) -> None:
    """Calibrate confidence: an isotonic map per element type and stage, with the calibration
    error before and after on held-back data. On the workspace's reviews (accepted = right,
    corrected or deleted = wrong; held back by document), or with --dataset on labelled data
    (words, lines, fields, entities, cells; docs/evaluation.md). The review app then flags
    what is less likely right than FOLIO_REVIEW_TARGET (0.9)."""
    from pipelines.evaluation.review_calibration import fit_workspace, write_calibration

    ws = Workspace.open(workspace)
    if dataset:
        _calibrate_on_datasets(ws, dataset, fit_split, eval_split, limit, profile, min_items)
        return
    fitted = fit_workspace(ws, min_items)
    if not fitted:
        console.print(f"nothing to calibrate yet: no element type has {min_items} reviewed items")
        return
    path = write_calibration(ws, fitted)
    table = Table("kind:stage", "reviewed", "held back", "ECE before", "ECE after")
    for f in fitted:
        table.add_row(
            f.key, str(f.n), str(f.held_back), f"{f.ece_before:.4f}", f"{f.ece_after:.4f}"
        )
    console.print(table)
    console.print(f"written: {path}")


def _calibrate_on_datasets(
    ws: Workspace,
    datasets: list[Path],
    fit_split: str,
    eval_split: str,
    limit: int | None,
    profile: str,
    min_items: int,
) -> None:
    from pipelines.evaluation.dataset_calibration import (
        dataset_outcomes,
        fit_outcomes,
        format_reports,
    )
    from pipelines.evaluation.review_calibration import write_calibration
    from pipelines.execution.config import load_profile

    missing = [str(d) for d in datasets if not (d / eval_split / "index.jsonl").is_file()]
    if missing:
        _fail(f"no {eval_split}/index.jsonl in {', '.join(missing)}")
    config = load_profile(profile)
    fit, held = [], []
    for folder in datasets:
        a, b = dataset_outcomes(folder, fit_split, eval_split, config, limit)
        fit += a
        held += b
    reports = fit_outcomes(fit, held, min_items)
    if not reports:
        console.print(f"nothing to calibrate: no element type has {min_items} checked items")
        return
    console.print(format_reports(reports))
    names = "+".join(d.name for d in datasets)
    path = write_calibration(
        ws,
        [r.fitted for r in reports],
        origin=f"datasets:{names}",
        stage_versions={r.fitted.key: r.stage_version for r in reports},
    )
    console.print(f"written: {path} (maps fitted on this workspace's reviews are kept)")


@app.command("evaluate-type-learning")
def evaluate_type_learning_command(
    datasets: Annotated[
        list[str], typer.Argument(help="DATASET=TYPE, e.g. ../shared/datasets/sroie=receipt")
    ],
    documents: Annotated[int, typer.Option(help="training documents of each dataset")] = 20,
    seed: Annotated[int, typer.Option(help="seed of the samples")] = 0,
) -> None:
    """The document-type loop end to end: review `documents` files of each dataset (each of one
    type), run folio train, and count how many evaluation files each variant types right."""
    from extractors.stages.doctype import TYPES
    from pipelines.evaluation.evaluate_learning import (
        evaluate_type_learning,
        format_type_learning,
    )
    from pipelines.learning.fit import TorchMissing

    typed = []
    for spec in datasets:
        path, _, kind = spec.rpartition("=")
        if kind not in TYPES or not (Path(path) / "dev" / "index.jsonl").is_file():
            _fail(f"{spec}: want DATASET=TYPE with a dev split and a type of {', '.join(TYPES)}")
        typed.append((Path(path), kind))
    try:
        result = evaluate_type_learning(typed, documents, seed)
    except TorchMissing as error:
        _fail(str(error))
    console.print(format_type_learning(result))
