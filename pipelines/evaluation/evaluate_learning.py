"""The learning loop measured end to end on FUNSD: corrections in, a better labeller out (or not).

1. `n` forms of the training split (a seeded sample) are processed into a scratch workspace
   with the default profile plus the form stages.
2. A simulated reviewer corrects each form as a person would in the review app, from FUNSD's
   ground truth: a form entity matching a scored ground-truth entity (evaluate_forms.py's
   `words` criterion) of another label is relabelled, one matching `other` text or nothing is
   deleted, a scored entity nothing matched is added (its box and label), and the document is
   accepted. The corrections go through the journal and the loader like the app's.
3. `folio train`'s loop runs on that workspace (pipelines/learning/train.py).
4. The evaluation split is read once; its form stage is then run with the rules alone, with
   the candidate model and with what the workspace would use (the candidate only if promoted),
   and each is scored as `folio evaluate-forms` scores.
FUNSD is research data: a model trained here measures the approach and is not shipped.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.document import Document
from extractors.stages.forms.kv import FormKvOptions, FormKvStage
from pipelines.evaluation.evaluate import dataset_items
from pipelines.evaluation.evaluate_forms import (
    LABELS,
    FormsResult,
    forms_config,
    funsd_truth,
    one_to_one,
    predicted_form,
    score_documents,
)
from pipelines.execution.batch import run_batch
from pipelines.learning.train import TrainReport, train_form_labeller
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import load_document, query
from pipelines.store.loader import load_with_retries
from pipelines.store.workspace import Workspace

REVIEWER = "funsd-ground-truth"
TO_FOLIO = {v: k for k, v in LABELS.items()}  # question -> KEY, ...


@dataclass
class LearningResult:
    n_train: int
    train: TrainReport
    scores: dict[str, FormsResult]  # "rules", "candidate", "in use"


def review_from_truth(
    document: Document, form: Sequence[dict[str, Any]], result_id: str
) -> list[Correction]:
    """The corrections a reviewer following FUNSD's truth makes on one processed form."""
    truth = funsd_truth(form)
    pred = predicted_form(document)
    everything = {**truth.entities, **truth.others}
    matched = one_to_one(pred.entities, everything, "words", same_label=False)
    page = document.pages[0]

    def made(target_id: str, action: str, new_value: Any, old: Any = None) -> Correction:
        return Correction(
            document_id=document.document_id,
            result_id=result_id,
            target_type="entity",
            target_id=target_id,
            page_index=0,
            action=action,  # type: ignore[arg-type]
            old_value=old,
            new_value=new_value,
            reviewer=REVIEWER,
            stage_version="forms.kv@1",
        )

    out = []
    labels = {e.id: e for e in document.entities}
    for entity_id, item in pred.entities.items():
        entity = labels[entity_id]
        old = {"label": entity.label, "text": entity.text}
        target = matched.get(entity_id)
        if target is None or target in truth.others:
            out.append(made(entity_id, "delete", None, old))
        elif TO_FOLIO[truth.entities[target].label] != item.label:
            label = TO_FOLIO[truth.entities[target].label]
            out.append(made(entity_id, "relabel", {"label": label, "text": entity.text}, old))
    found = set(matched.values())
    for gt_id, gt in truth.entities.items():
        if gt_id in found:
            continue
        x0, y0, x1, y1 = gt.box
        bbox = [x0 / page.width, y0 / page.height, x1 / page.width, y1 / page.height]
        text = next((str(e.get("text", "")) for e in form if int(e["id"]) == gt_id), "")
        new = {"label": TO_FOLIO[gt.label], "text": text, "value": text, "bbox": bbox, "from": None}
        out.append(made(f"e-review-gt{gt_id}", "add", new))
    out.append(
        Correction(
            document_id=document.document_id,
            result_id=result_id,
            target_type="document",
            target_id=document.document_id,
            action="accept",
            reviewer=REVIEWER,
        )
    )
    return out


def relabelled(
    documents: Sequence[Document | None], options: FormKvOptions
) -> list[Document | None]:
    """The documents with `forms.kv` run again under `options` (copies)."""
    stage = FormKvStage(options)
    out: list[Document | None] = []
    for document in documents:
        if document is None:
            out.append(None)
            continue
        copy = document.model_copy(deep=True)
        stage.annotate(copy, None)
        out.append(copy)
    return out


def evaluate_learning(
    dataset: Path,
    n_train: int = 20,
    train_split: str = "train",
    eval_split: str = "dev",
    seed: int = 0,
    workers: int = 2,
) -> LearningResult:
    from pipelines.execution.pipeline import Pipeline

    train_dir, eval_dir = dataset / train_split, dataset / eval_split
    items = dataset_items(train_dir)
    chosen = random.Random(seed).sample(items, min(n_train, len(items)))
    config = forms_config("default")
    with tempfile.TemporaryDirectory(prefix="folio-learn-") as tmp:
        workspace = Workspace.open(Path(tmp))
        paths = {str((train_dir / it["doc"]).resolve()): it for it in chosen}
        run_batch([Path(p) for p in paths], config, workspace, workers=workers)
        rows = query(workspace, "SELECT document_id, result_id, source_path FROM current_results")
        for row in rows.to_pylist():
            item = paths.get(str(row["source_path"]))
            document = load_document(workspace, row["document_id"])
            if item is None or document is None or not document.pages:
                continue
            form = json.loads((train_dir / item["gt"]["funsd"]).read_text())["form"]
            for correction in review_from_truth(document, form, row["result_id"]):
                journal(workspace, correction)
        load_with_retries(workspace)
        report = train_form_labeller(workspace)
        eval_items = dataset_items(eval_dir)
        documents = list(
            Pipeline(config).process_many([(eval_dir / it["doc"], None) for it in eval_items])
        )
        variants = {"rules": FormKvOptions()}
        if report.version is not None:
            variants["candidate"] = FormKvOptions(
                model=str(report.version.path), model_sha256=report.version.sha256
            )
            variants["in use"] = variants["candidate"] if report.promoted else variants["rules"]
        scores = {
            name: score_documents(eval_items, relabelled(documents, options), eval_dir)
            for name, options in variants.items()
        }
    return LearningResult(len(chosen), report, scores)


def format_learning(result: LearningResult, eval_split: str) -> str:
    r = result.train
    lines = [
        f"{result.n_train} reviewed forms ({r.rows} segments): {r.reason}",
        f"{eval_split}: {'':<10} {'labelling F1':>13} {'linking F1':>11}",
    ]
    for name, scores in result.scores.items():
        pad = " " * (len(eval_split) + 2)
        lines.append(f"{pad}{name:<10} {scores.labelling.f1:13.3f} {scores.linking.f1:11.3f}")
    return "\n".join(lines)


@dataclass
class TypeLearningResult:
    train: TrainReport
    # variant ("rules", "candidate", "in use") -> dataset name -> (right, documents)
    right: dict[str, dict[str, tuple[int, int]]]


def _typed_split(dataset: Path, n: int, seed: int) -> tuple[list[Path], list[Path]]:
    """(training files, evaluation files) of one dataset: `n` of its train split and all of
    dev; without a train split, dev is halved by a hash of the item id."""
    dev = dataset_items(dataset / "dev")
    if (dataset / "train" / "index.jsonl").is_file():
        train = [dataset / "train" / it["doc"] for it in dataset_items(dataset / "train")]
        held = [dataset / "dev" / it["doc"] for it in dev]
    else:
        side = [_fit_side(str(it["id"])) for it in dev]
        train = [dataset / "dev" / it["doc"] for it, s in zip(dev, side, strict=True) if s]
        held = [dataset / "dev" / it["doc"] for it, s in zip(dev, side, strict=True) if not s]
    return random.Random(seed).sample(train, min(n, len(train))), held


def _fit_side(item_id: str) -> bool:
    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 == 0


def evaluate_type_learning(
    datasets: Sequence[tuple[Path, str]], n_train: int = 20, seed: int = 0, workers: int = 2
) -> TypeLearningResult:
    """The document-type loop end to end: `n_train` documents of each dataset (all of one
    type) are read into a scratch workspace; a simulated reviewer sets each one's type where
    the rules got it wrong and accepts it; `folio train` runs; the evaluation files are read
    once and typed by the rules, by the candidate and by what the workspace would use."""
    from extractors.stages.doctype import DocTypeOptions, DocTypeStage
    from pipelines.execution.pipeline import Pipeline
    from pipelines.learning.tasks import DOC_TYPES
    from pipelines.learning.train import train_task

    config = forms_config("default")
    splits = {path: _typed_split(path, n_train, seed) for path, _ in datasets}
    truth = {path.name: kind for path, kind in datasets}
    with tempfile.TemporaryDirectory(prefix="folio-learn-types-") as tmp:
        workspace = Workspace.open(Path(tmp))
        files = {str(f.resolve()): path.name for path, (train, _) in splits.items() for f in train}
        run_batch([Path(f) for f in files], config, workspace, workers=workers)
        rows = query(workspace, "SELECT document_id, result_id, source_path FROM current_results")
        for row in rows.to_pylist():
            kind = truth.get(files.get(str(row["source_path"]), ""))
            document = load_document(workspace, row["document_id"])
            if kind is None or document is None:
                continue
            for correction in review_type(document, kind, row["result_id"]):
                journal(workspace, correction)
        load_with_retries(workspace)
        report = train_task(workspace, DOC_TYPES)
        variants = {"rules": DocTypeOptions()}
        if report.version is not None:
            variants["candidate"] = DocTypeOptions(
                model=str(report.version.path), model_sha256=report.version.sha256
            )
            variants["in use"] = variants["candidate"] if report.promoted else variants["rules"]
        pipeline = Pipeline(config)
        right: dict[str, dict[str, tuple[int, int]]] = {name: {} for name in variants}
        for path, (_, held) in splits.items():
            documents = [d for d in pipeline.process_many([(f, None) for f in held]) if d.pages]
            for name, options in variants.items():
                stage = DocTypeStage(options)
                n = 0
                for document in documents:
                    copy = document.model_copy(deep=True)
                    stage.annotate(copy, None)
                    n += copy.doc_type == truth[path.name]
                right[name][path.name] = (n, len(documents))
    return TypeLearningResult(report, right)


def review_type(document: Document, kind: str, result_id: str) -> list[Correction]:
    """A reviewer who knows the document's type: corrects it where it is wrong, then accepts."""
    out = []
    if document.doc_type != kind:
        out.append(
            Correction(
                document_id=document.document_id, result_id=result_id, target_type="document",
                target_id=document.document_id, action="relabel",
                old_value={"doc_type": document.doc_type}, new_value={"doc_type": kind},
                reviewer=REVIEWER, stage_version="classify.doctype@1",
            )
        )  # fmt: skip
    out.append(
        Correction(
            document_id=document.document_id, result_id=result_id, target_type="document",
            target_id=document.document_id, action="accept", reviewer=REVIEWER,
        )
    )  # fmt: skip
    return out


def format_type_learning(result: TypeLearningResult) -> str:
    r = result.train
    lines = [f"{r.documents} reviewed documents: {r.reason}"]
    names = sorted({name for per in result.right.values() for name in per})
    lines.append(f"{'':<10} " + " ".join(f"{n:>18}" for n in names) + f" {'all':>9}")
    for variant, per in result.right.items():
        cells = [
            f"{per[n][0]:>8}/{per[n][1]:<3} {per[n][0] / max(1, per[n][1]):5.3f}" for n in names
        ]
        total = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
        lines.append(f"{variant:<10} " + " ".join(cells) + f" {total[0] / max(1, total[1]):9.3f}")
    return "\n".join(lines)
