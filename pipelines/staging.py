"""Result bundles: one immutable JSON file per finished document in the staging area."""

from __future__ import annotations

from extractors.document import Document
from pipelines.rows import result_id_for
from pipelines.workspace import Workspace, atomic_write_json


def stage_bundle(workspace: Workspace, document: Document, run_id: str, stored_path: str) -> str:
    assert document.pipeline is not None
    result_id = result_id_for(document.document_id, document.pipeline.config_hash)
    bundle = {
        "kind": "folio.result/1",
        "run_id": run_id,
        "result_id": result_id,
        "stored_path": stored_path,
        "document": document.model_dump(mode="json", by_alias=True),
    }
    atomic_write_json(workspace.results_dir / f"{result_id}.json", bundle)
    return result_id
