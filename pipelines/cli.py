"""`folio`: process documents into a workspace, inspect it, export it, query it."""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.runtime import DEVICE_ENV, Device, DeviceUnavailable, Runtime, parse_device
from pipelines.execution.config import ProfileError, available_profiles, load_profile
from pipelines.store.workspace import WORKSPACE_ENV, Workspace

if TYPE_CHECKING:
    from pipelines.evaluation.evaluate_layout import LayoutReport
    from pipelines.execution.config import PipelineConfig
    from pipelines.security.policy import AuthMode
    from pipelines.store.evaluations import Metric

app = typer.Typer(
    help="Folio: document processing into a DuckDB workspace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help=f"workspace folder (default: ${WORKSPACE_ENV} or data/workspace)"
    ),
]

ProfileOpt = Annotated[str, typer.Option("--profile", "-p")]
SplitsOpt = Annotated[
    list[str] | None,
    typer.Option(help="split folder inside the dataset; repeat for several (dev, train)"),
]
WorkersOpt = Annotated[int, typer.Option("--workers", "-j", min=1)]
LimitOpt = Annotated[int | None, typer.Option(help="first N items only")]


def _audit(ws: Workspace, action: str, target: str, **details: object) -> None:
    """An audit event by whoever runs the CLI (the operating-system user, admin)."""
    from pipelines.security import audit
    from pipelines.security.principal import cli_principal

    audit.record(ws, cli_principal(), action, target, details)


def _bind_mode(host: str, accounts_configured: bool, what: str, fix: str) -> AuthMode:
    """pipelines.security.policy's rule for a server about to bind `host`; exits with its
    refusal when the address is public and no accounts exist."""
    from pipelines.security.policy import InsecureBind, auth_mode

    try:
        return auth_mode(host, accounts_configured, what, fix)
    except InsecureBind as error:
        _fail(str(error))
        raise  # _fail exits; this satisfies the type checker


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _device(text: str) -> Device:
    """The --device option, checked now: a bad name or an absent GPU is a readable error."""
    try:
        device = parse_device(text)
        Runtime(device=device).placement()
    except (ValueError, DeviceUnavailable) as error:
        _fail(str(error))
    return device


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(help="files and folders (recursive)")],
    workspace: WorkspaceOpt = None,
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="worker processes")] = max(
        1, min(4, os.cpu_count() or 1)
    ),
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="profile name or TOML path")
    ] = "default",
    password: Annotated[str | None, typer.Option(help="password for encrypted PDFs")] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="reprocess failed documents")
    ] = False,
    device: Annotated[
        str,
        typer.Option(help="auto (CUDA when a GPU is seen), cpu, cuda or cuda:N; $FOLIO_DEVICE"),
    ] = os.environ.get(DEVICE_ENV, "auto"),
    executor: Annotated[
        str,
        typer.Option(help="local (worker processes here) or ray (actors on a Ray cluster)"),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="RAY_ADDRESS",
            help="Ray cluster for --executor ray (ray://head:10001, auto); default: a local Ray",
        ),
    ] = None,
) -> None:
    """Process files into the workspace (skips what this profile already processed)."""
    from pipelines.execution.batch import EXECUTORS, run_batch
    from pipelines.execution.executor import WorkerStartError
    from pipelines.execution.ray_executor import RayExecutorError

    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    device = _device(device)
    if executor not in EXECUTORS:
        _fail(f"--executor must be {' or '.join(EXECUTORS)}, not {executor!r}")
    try:
        config = load_profile(profile)
    except ProfileError as error:
        _fail(str(error))
    ws = Workspace.open(workspace)
    progress = Progress(
        TextColumn("[bold]documents"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[pages]} pages · {task.fields[rate]:.2f} pages/s · "
            "[red]{task.fields[failed]} failed"
        ),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    task = progress.add_task("run", total=None, pages=0, rate=0.0, failed=0)

    def planned(n: int) -> None:
        progress.update(task, total=n)

    def on_result(result: object, summary: object) -> None:
        from pipelines.execution.batch import BatchSummary

        assert isinstance(summary, BatchSummary)
        progress.update(
            task,
            advance=1,
            pages=summary.n_pages,
            rate=summary.pages_per_s,
            failed=summary.statuses["failed"],
        )

    _audit(ws, "upload", "batch", inputs=len(paths), profile=config.name)
    with progress:
        try:
            summary = run_batch(
                paths,
                config,
                ws,
                workers=workers,
                password=password,
                retry_failed=retry_failed,
                device=device,
                command=shlex.join(["folio", *sys.argv[1:]]),
                on_planned=planned,
                on_result=on_result,
                executor=executor,
                ray_address=ray_address,
            )
        except (RayExecutorError, WorkerStartError) as error:  # no ray, no cluster, no GPU
            _fail(str(error))
    _print_summary(summary, ws)
    if summary.problems and not summary.n_files:
        raise typer.Exit(1)


def _by_type(counts: dict[str, int]) -> str:
    """`3 (.txt 2, .doc 1)`: how many files of which types a scan left out."""
    if not counts:
        return "0"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{sum(counts.values())} (" + ", ".join(f"{k} {v}" for k, v in ranked) + ")"


def _print_summary(summary: object, ws: Workspace) -> None:
    from pipelines.execution.batch import BatchSummary

    assert isinstance(summary, BatchSummary)
    for problem in summary.problems:
        err.print(f"[yellow]skipped:[/] {problem}")
    table = Table(title=f"Run {summary.run_id}", show_header=False)
    processed = sum(summary.statuses.values())
    rows = [
        ("files found", summary.n_files),
        ("not supported (left out)", _by_type(summary.unsupported)),
        ("processed", processed),
        ("already done (skipped)", summary.n_skipped),
        ("duplicates", summary.n_duplicates),
        (
            "ok / partial / failed",
            f"{summary.statuses['ok']} / {summary.statuses['partial']} / "
            f"{summary.statuses['failed']}",
        ),
        ("pages", summary.n_pages),
        ("time", f"{summary.elapsed_s:.1f} s"),
        ("pages/s", f"{summary.pages_per_s:.2f}"),
    ]
    for stage, ms in sorted(summary.stage_ms.items(), key=lambda kv: -kv[1]):
        if summary.n_pages:
            rows.append((f"  {stage}", f"{ms / summary.n_pages:.0f} ms/page"))
    for stats in summary.model_stats:  # GPU runs: how full the device calls were, how busy
        for name, model in stats.models.items():
            share = stats.utilisation().get(name, 0.0)
            rows.append(
                (f"  model {name}", f"{model.rows_per_call:.1f} rows/call, busy {share:.0%}")
            )
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)
    if summary.failures:
        failures = Table(title="Not ok", show_lines=False)
        failures.add_column("file")
        failures.add_column("reason", overflow="fold")
        for name, reason in summary.failures:
            failures.add_row(name, reason)
        console.print(failures)
    console.print(f"Workspace: {ws.root}")
    console.print(
        'Next: [bold]folio status[/], [bold]folio sql "SELECT * FROM documents"[/], '
        "[bold]folio export[/]"
    )


@app.command()
def status(workspace: WorkspaceOpt = None) -> None:
    """Documents, pages and runs in the workspace."""
    from pipelines.store.database import query
    from pipelines.store.loader import load_best_effort

    ws = Workspace.open(workspace)
    load_best_effort(ws)  # a status that waits behind a long query is no status
    docs = query(
        ws,
        "SELECT status, count(*) AS documents, sum(n_pages) AS pages "
        "FROM documents GROUP BY status ORDER BY status",
    )
    table = Table(title=f"Workspace {ws.root}")
    for name in ("status", "documents", "pages"):
        table.add_column(name)
    for row in docs.to_pylist():
        table.add_row(str(row["status"]), str(row["documents"]), str(row["pages"] or 0))
    console.print(table)
    runs = query(
        ws,
        "SELECT run_id, profile, state, n_ok, n_partial, n_failed, n_skipped, "
        "n_pages, round(pages_per_s, 2) AS pages_per_s FROM runs "
        "ORDER BY started_at DESC LIMIT 5",
    )
    _print_arrow(runs, "Recent runs")


def _print_arrow(table_data: object, title: str | None = None) -> None:
    import pyarrow as pa

    assert isinstance(table_data, pa.Table)
    table = Table(title=title)
    for name in table_data.column_names:
        table.add_column(name, overflow="fold")
    for row in table_data.to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


def _flat_for_csv(table: Any) -> Any:
    """The result with list, struct and map columns (word ids, bboxes, errors) as JSON text:
    CSV has no nested values, and pyarrow refuses to write them."""
    import pyarrow as pa

    for index, column in enumerate(table.schema):
        if pa.types.is_nested(column.type):
            values = [None if v is None else json.dumps(v, default=str) for v in
                      table.column(index).to_pylist()]  # fmt: skip
            table = table.set_column(index, column.name, pa.array(values, pa.string()))
    return table


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="a SQL query over the workspace views")],
    workspace: WorkspaceOpt = None,
    output: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Run a read-only SQL query (no file or network access)."""
    from pipelines.store.loader import load_best_effort
    from pipelines.store.query import SqlRefused, run_user_sql

    if output not in ("table", "csv", "json"):
        _fail("--format must be table, csv or json")
    ws = Workspace.open(workspace)
    load_best_effort(ws)  # what just finished, and schema upgrades; never waits on a batch
    from pipelines.security.audit import statement_reference

    _audit(ws, "sql", statement_reference(statement), chars=len(statement))
    try:
        result = run_user_sql(ws, statement)
    except SqlRefused as error:
        _fail(str(error))
    if output == "table":
        _print_arrow(result)
    elif output == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(_flat_for_csv(result), sys.stdout.buffer)
    else:
        sys.stdout.write(json.dumps(result.to_pylist(), default=str, indent=1) + "\n")


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")] = Path("export"),
    workspace: WorkspaceOpt = None,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="json, markdown, parquet, csv, html (tables) or graph (entities and relations)",
        ),
    ] = "json",
    document: Annotated[
        list[str] | None, typer.Option("--document", "-d", help="document id (repeatable)")
    ] = None,
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed/--raw", help="apply review corrections (default) or export as extracted"
        ),
    ] = True,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="export without PII (names, emails, phones, IBANs, cards, addresses, national "
            "ids): type tokens in the texts, pii-report.json and redacted page images (PNG)",
        ),
    ] = False,
) -> None:
    """Export current results: JSON (folio.document/4), Markdown, Parquet; tables as CSV/HTML;
    entities and relations as a graph (JSON per document and workspace, GraphML)."""
    from pipelines.export import FORMATS, REDACTABLE, export_workspace

    if output not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}")
    if redact and output not in REDACTABLE:
        _fail(f"--redact works with --format {', '.join(REDACTABLE)} (Parquet is not redacted)")
    ws = Workspace.open(workspace)
    written = export_workspace(
        ws, out, output, document_ids=document or None, reviewed=reviewed, redact=redact
    )
    _audit(
        ws,
        "export",
        ",".join(document or []) or "workspace",
        format=output,
        files=len(written),
        reviewed=reviewed,
        redacted=redact,
    )
    console.print(f"wrote {len(written)} file(s) to {out.resolve()}")
    if redact:
        from pipelines.security.redaction import REPORT_FILE

        total = json.loads((out / REPORT_FILE).read_text())["total"]
        found = ", ".join(f"{k} {v}" for k, v in total.items() if v) or "none"
        console.print(f"PII redacted: {found} (see {REPORT_FILE})")


DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="dataset folder, e.g. ../shared/datasets/sroie")],
    profile: ProfileOpt = "default",
    split: SplitsOpt = None,
    workers: WorkersOpt = 2,
    limit: LimitOpt = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="write per-page scores (split name appended)")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="also score plain rapidocr.RapidOCR on the same pages")
    ] = False,
    workspace: WorkspaceOpt = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="keep the metrics in the workspace (eval_runs, eval_metrics) and show the change",
        ),
    ] = True,
) -> None:
    """Every metric a dataset's ground truth supports, from one pipeline run per split: OCR
    page CER (SROIE, FUNSD), receipt fields (SROIE keys: exact match, micro F1), form
    labelling and key-value linking F1 (FUNSD); table datasets (ICDAR 2013, camelot,
    pdfplumber, PubTabNet) and layout datasets (PubLayNet, DocBank) as evaluate-tables and
    evaluate-layout do."""
    import time

    from pipelines.evaluation.record import format_changes, record_evaluation

    splits = split or ["dev"]
    for name in splits:
        if not (dataset / name / "index.jsonl").is_file():
            _fail(f"{dataset / name} has no index.jsonl")
    try:
        config = load_profile(profile)
    except ValueError as error:
        _fail(str(error))
    ws = Workspace.open(workspace) if record else None
    for name in splits:
        started = time.perf_counter()
        per_split = (
            csv_out.with_name(f"{csv_out.stem}-{name}{csv_out.suffix}")
            if csv_out and len(splits) > 1
            else csv_out
        )
        metrics, n_items = _evaluate_one(dataset, name, config, workers, limit, baseline, per_split)
        if ws is not None and metrics:
            changes = record_evaluation(
                ws,
                dataset,
                name,
                config,
                metrics,
                n_items,
                time.perf_counter() - started,
                " ".join(["folio", *sys.argv[1:]]),
            )
            console.print(
                f"recorded in {ws.root} (eval_runs, eval_metrics, eval_history):", highlight=False
            )
            console.print(format_changes(changes), highlight=False)


def _evaluate_one(
    dataset: Path,
    name: str,
    config: PipelineConfig,
    workers: int,
    limit: int | None,
    baseline: bool,
    csv_out: Path | None,
) -> tuple[list[Metric], int]:
    """Evaluate one split with what its truth supports; print the reports, return the metrics
    and how many items they cover."""
    from statistics import fmean, median

    from pipelines.evaluation.evaluate import evaluate_rapidocr_baseline, write_scores_csv
    from pipelines.evaluation.evaluate_fields import format_report as fields_report
    from pipelines.evaluation.evaluate_forms import format_report as forms_report
    from pipelines.evaluation.evaluate_layout import detect_dataset, evaluate_layout
    from pipelines.evaluation.metrics import (
        calibration_metrics,
        field_metrics,
        forms_metrics,
        layout_metrics,
        ocr_metrics,
        table_metrics,
    )
    from pipelines.evaluation.suite import evaluate_split
    from pipelines.evaluation.table_evaluation import (
        dataset_kind,
        format_table_dataset_report,
        table_dataset_report,
    )

    if _detected(lambda: dataset_kind(dataset, name)):
        report = table_dataset_report(dataset, config.name, name, limit)
        console.print(format_table_dataset_report(report), highlight=False)
        return table_metrics(report), _n_items(dataset / name, limit)
    if _detected(lambda: detect_dataset(dataset)):
        layout = evaluate_layout(dataset, config, name, limit, baseline)
        _print_layout(dataset, name, config.name, layout)
        return layout_metrics(layout), layout.pages
    result = evaluate_split(dataset / name, config, workers, limit)
    scores = result.ocr
    if csv_out and scores:
        write_scores_csv(scores, csv_out)
    if scores:
        values = [s.cer for s in scores]
        not_ok = [s for s in scores if s.status != "ok"]
        console.print(
            f"{dataset.name}/{name} profile={config.name}: {len(scores)} pages, "
            f"mean page CER {fmean(values):.4f}, median {median(values):.4f}"
            + (f", {len(not_ok)} not ok" if not_ok else "")
        )
    if result.fields is not None:
        console.print(
            fields_report(result.fields, f"{dataset.name}/{name} fields"), highlight=False
        )
    if result.forms is not None:
        console.print(forms_report(result.forms), highlight=False)
    if baseline and scores:
        values = [s.cer for s in scores]
        base = [s.cer for s in evaluate_rapidocr_baseline(dataset, name, limit)]
        better = sum(f < b for f, b in zip(values, base, strict=True))
        console.print(
            f"{dataset.name}/{name} plain rapidocr: mean page CER {fmean(base):.4f}, "
            f"median {median(base):.4f}; folio better on {better}/{len(base)} pages, "
            f"folio / plain {fmean(values) / max(1e-9, fmean(base)):.3f}"
        )
    metrics = ocr_metrics(scores)
    metrics += field_metrics(result.fields) if result.fields is not None else []
    metrics += forms_metrics(result.forms) if result.forms is not None else []
    metrics += calibration_metrics(result.words)
    return metrics, _n_items(dataset / name, limit)


def _print_layout(dataset: Path, split: str, profile: str, report: LayoutReport) -> None:
    line = f"{dataset.name}/{split} profile={profile}: {report.pages} pages, {report.metric}"
    console.print(f"{line} folio {report.folio:.4f}")
    if report.baseline is not None:
        console.print(f"{line} bare CDLA {report.baseline:.4f}")


def _detected(check: Callable[[], object]) -> bool:
    """Whether a dataset detector accepts the dataset (they raise ValueError otherwise)."""
    try:
        check()
    except ValueError:
        return False
    return True


def _n_items(split_dir: Path, limit: int | None) -> int:
    from pipelines.evaluation.evaluate import dataset_items

    return len(dataset_items(split_dir, limit))


@app.command("evaluate-layout")
def evaluate_layout_command(
    dataset: Annotated[
        Path, typer.Argument(help="publaynet or docbank folder, e.g. ../shared/datasets/docbank")
    ],
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
    split: Annotated[str, typer.Option(help="split folder inside the dataset")] = "dev",
    limit: Annotated[int | None, typer.Option(help="first N items only")] = None,
    baseline: Annotated[
        bool, typer.Option(help="also score the bare CDLA model on the same pages")
    ] = False,
    tables: Annotated[
        bool,
        typer.Option(help="also count false tables: tables found on no table of the truth"),
    ] = True,
) -> None:
    """Layout accuracy: PubLayNet mAP@0.5 or DocBank token accuracy (vs the bare CDLA model),
    and the tables the whole profile finds on these dense pages where the truth has none."""
    from pipelines.evaluation.evaluate_layout import (
        detect_dataset,
        evaluate_layout,
        stages_to_layout,
    )

    if not (dataset / split / "index.jsonl").is_file():
        _fail(f"{dataset / split} has no index.jsonl")
    try:
        detect_dataset(dataset)
        config = load_profile(profile)
        stages_to_layout(config)
    except ValueError as error:  # ProfileError is a ValueError
        _fail(str(error))
    report = evaluate_layout(dataset, config, split, limit, baseline)
    _print_layout(dataset, split, profile, report)
    for label, (ours, base) in report.per_class.items():
        bare = f", bare {base:.3f}" if base is not None else ""
        console.print(f"  AP {label}: folio {ours:.3f}{bare}")
    if tables:
        from pipelines.evaluation.false_tables import evaluate_false_tables, format_false_tables

        found = evaluate_false_tables(dataset, config, split, limit)
        console.print(format_false_tables(found), highlight=False)


@app.command("evaluate-tables")
def evaluate_tables_command(
    datasets: Annotated[
        list[Path],
        typer.Argument(
            help="table dataset folders: icdar2013_tables, camelot_tables, pdfplumber_tables, "
            "pubtabnet (in ../shared/datasets)"
        ),
    ],
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
    split: Annotated[str, typer.Option(help="split folder inside each dataset")] = "dev",
    limit: Annotated[int | None, typer.Option(help="first N items only")] = None,
) -> None:
    """Table accuracy: ICDAR 2013 region and cell adjacency F1 (vs plain pdfplumber), camelot
    and pdfplumber test expectations, PubTabNet TEDS (vs bare SLANet)."""
    from pipelines.evaluation.table_evaluation import dataset_kind, evaluate_table_dataset

    try:
        for dataset in datasets:
            dataset_kind(dataset, split)
        load_profile(profile)
    except ValueError as error:  # ProfileError is a ValueError
        _fail(str(error))
    for dataset in datasets:
        console.print(evaluate_table_dataset(dataset, profile, split, limit), highlight=False)


def _split_dirs(dataset: Path, split: list[str] | None) -> list[Path]:
    """A split folder given directly, or the named splits (dev by default) of a dataset."""
    if (dataset / "index.jsonl").is_file():
        return [dataset]
    split_dirs = [dataset / name for name in (split or ["dev"])]
    for split_dir in split_dirs:
        if not (split_dir / "index.jsonl").is_file():
            _fail(f"{split_dir} has no index.jsonl")
    return split_dirs


@app.command("evaluate-fields")
def evaluate_fields_command(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="dataset with field truth (SROIE key files or fields JSON), or a split"
        ),
    ],
    profile: ProfileOpt = "default",
    split: SplitsOpt = None,
    workers: WorkersOpt = 2,
    limit: LimitOpt = None,
    misses: Annotated[bool, typer.Option(help="list every wrong or missing value")] = False,
) -> None:
    """Receipt and invoice fields: exact match per field (dates and amounts as values) and
    micro F1, with Folio's own OCR (see pipelines/evaluation/evaluate_fields.py)."""
    from pipelines.evaluation.evaluate_fields import evaluate_fields, format_report

    split_dirs = _split_dirs(dataset, split)
    try:
        config = load_profile(profile)
    except ValueError as error:
        _fail(str(error))
    for split_dir in split_dirs:
        try:
            scores = evaluate_fields(split_dir, config, workers, limit)
        except ValueError as error:
            _fail(str(error))
        title = f"{split_dir.parent.name}/{split_dir.name} profile={profile}"
        console.print(format_report(scores, title), highlight=False)
        if misses:
            for doc_id, name, got, want in scores.misses:
                console.print(f"  {doc_id} {name}: got {got!r}, want {want!r}", highlight=False)


@app.command("evaluate-forms")
def evaluate_forms_command(
    dataset: Annotated[Path, typer.Argument(help="FUNSD dataset folder, or one split of it")],
    profile: ProfileOpt = "default",
    split: SplitsOpt = None,
    limit: LimitOpt = None,
) -> None:
    """FUNSD form labelling (HEADER/KEY/VALUE) and key-value linking F1, with Folio's own OCR
    (see pipelines/evaluation/evaluate_forms.py)."""
    from pipelines.evaluation.evaluate_forms import evaluate_forms, format_report

    split_dirs = _split_dirs(dataset, split)
    for split_dir in split_dirs:
        try:
            result = evaluate_forms(split_dir, profile, limit)
        except ValueError as error:
            _fail(str(error))
        console.print(format_report(result), highlight=False)


@app.command("evaluate-office")
def evaluate_office_command(
    dataset: Annotated[
        Path, typer.Argument(help="office dataset or split folder, e.g. ../shared/datasets/office")
    ],
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
    split: Annotated[str, typer.Option(help="split folder inside the dataset")] = "dev",
) -> None:
    """Office files (DOCX/XLSX/PPTX): word recall/precision of the Markdown export and table
    counts against the reference Markdown."""
    from pipelines.evaluation.evaluate_office import evaluate_office, split_folder, summarise

    folder = split_folder(dataset, split)
    if not (folder / "index.jsonl").is_file():
        _fail(f"{folder} has no index.jsonl")
    scores = evaluate_office(folder, load_profile(profile))
    files = Table(title=f"{folder} profile={profile}")
    for name in ("file", "status", "recall", "precision", "tables ref/folio", "reason"):
        files.add_column(name, overflow="fold")
    for s in scores:
        files.add_row(
            s.item_id,
            s.status,
            f"{s.recall:.3f}",
            f"{s.precision:.3f}",
            f"{s.ref_tables}/{s.out_tables}",
            s.reason,
        )
    console.print(files)
    for f in summarise(scores):
        console.print(
            f"{f.kind}: {f.files} files ({f.failed} failed), word recall {f.recall:.3f}, "
            f"precision {f.precision:.3f}, table count equal on {f.tables_equal}/{f.files} "
            f"files ({f.ref_tables} reference tables, {f.out_tables} found)"
        )


@app.command()
def bench(
    digital: Annotated[list[Path] | None, typer.Option(help="born-digital PDFs or folders")] = None,
    scanned: Annotated[list[Path] | None, typer.Option(help="scanned images or folders")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
    workers: Annotated[int, typer.Option("--workers", "-j", min=1)] = 2,
    baseline: Annotated[bool, typer.Option(help="also time plain rapidocr on the scans")] = True,
    compare: Annotated[
        str | None,
        typer.Option(help="second profile timed on the born-digital files in the same run"),
    ] = "text",
    repeat: Annotated[
        int, typer.Option(min=1, help="born-digital runs per profile (alternating; medians)")
    ] = 1,
    scans: Annotated[bool, typer.Option(help="time the scanned pages too")] = True,
    without: Annotated[
        list[str] | None,
        typer.Option(
            help="compare against the profile minus stages of this kind prefix (e.g. tables), "
            "on born-digital and scanned pages alike; replaces --compare"
        ),
    ] = None,
) -> None:
    """Pages/s, per-stage ms and peak memory; plain RapidOCR baseline on the same scans."""
    from pipelines.evaluation.bench import (
        bench_alternating,
        bench_folio,
        bench_rapidocr_baseline,
        format_alternating,
        format_results,
    )

    digital = digital or [DATASETS / "icdar2013_tables" / "dev" / "docs"]
    scanned = scanned or [DATASETS / "sroie" / "dev" / "docs"]
    try:
        config = load_profile(profile)
        if without:
            configs = [config, config.without(without)]
        else:
            configs = [config, *([load_profile(compare)] if compare else [])]
    except ProfileError as error:
        _fail(str(error))
    per_profile = bench_alternating("born-digital", digital, configs, workers, repeat)
    results = [r for runs in per_profile for r in runs]
    if scans and without:
        per_scan = bench_alternating("scanned", scanned, configs, workers, repeat)
        results += [r for runs in per_scan for r in runs]
        console.print(format_results(results))
        console.print(format_alternating(per_profile))
        console.print(format_alternating(per_scan))
        return
    if scans:
        results.append(bench_folio("scanned", scanned, config, workers))
    if scans and baseline:
        results.append(bench_rapidocr_baseline(scanned))
    console.print(format_results(results))
    console.print(format_alternating(per_profile))
    if scans and baseline:
        ratio = results[-2].pages_per_s / max(1e-9, results[-1].pages_per_s)
        console.print(f"scanned: folio / plain rapidocr = {ratio:.2f}x pages/s")


@app.command("app")
def app_command(
    workspace: WorkspaceOpt = None,
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8501,
    address: Annotated[str, typer.Option("--address", help="address to bind")] = "127.0.0.1",
    device: Annotated[
        str, typer.Option(help="device for uploads processed by the app: auto, cpu, cuda[:N]")
    ] = os.environ.get(DEVICE_ENV, "auto"),
) -> None:
    """Start the review workbench (Streamlit) on this workspace. Without users (`folio users
    add`) it serves loopback only, to the local person as admin; with users, everyone signs in."""
    from pipelines.security.accounts import AccountStore

    ws = Workspace.open(workspace)
    mode = _bind_mode(
        address,
        AccountStore(ws.root).has_users(),
        "users",
        f"folio users add NAME --role admin -w {ws.root}",
    )
    script = Path(__file__).resolve().parent.parent / "workbench" / "app.py"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={address}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
        "--server.maxUploadSize=50",
        "--client.toolbarMode=minimal",
        "--theme.primaryColor=#1f6feb",
        "--theme.base=light",
    ]
    env = {**os.environ, WORKSPACE_ENV: str(ws.root), DEVICE_ENV: _device(device)}
    who = "sign-in required" if mode == "accounts" else "no users: you are the local admin"
    console.print(
        f"Folio review app on [bold]http://{address}:{port}[/] (workspace {ws.root}; {who}); "
        "Ctrl+C stops it."
    )
    # exec, not a child process: signals (Ctrl+C, a service manager's TERM) reach the server
    # itself and nothing is left running behind a killed `folio app`.
    sys.stdout.flush()
    os.execve(sys.executable, command, env)


@app.command()
def profiles() -> None:
    """List the bundled pipeline profiles."""
    for name in available_profiles():
        config = load_profile(name)
        console.print(f"[bold]{name}[/]: {config.description}")
        console.print("   " + " -> ".join(spec.kind for spec in config.stages))


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":
    app()
