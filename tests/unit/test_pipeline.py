"""Pipeline mechanics with stand-in stages: batching, page isolation, status, timings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from extractors.document import Line
from extractors.stage import LINES, PageContext, PageStage, StageOptions, register
from pipelines.execution.config import PipelineConfig, StageSpec
from pipelines.execution.pipeline import Pipeline
from tests.conftest import text_image


class BoomOptions(StageOptions):
    fail_page: int = -1


@register
class BoomStage(PageStage[BoomOptions]):
    """Writes one line per page; raises on `fail_page` (only when that page is in the batch)."""

    kind = "test.boom"
    batch_size: ClassVar[int] = 4
    Options = BoomOptions
    batches: ClassVar[list[int]] = []

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        BoomStage.batches.append(len(batch))
        if any(ctx.page.index == self.options.fail_page for ctx in batch):
            raise RuntimeError("boom")
        return [ctx.image.shape for ctx in batch]

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx, shape in zip(batch, predictions, strict=True):
            ctx.scratch[LINES] = [Line(id="l0", text=f"{shape[1]}x{shape[0]}", bbox=[0, 0, 1, 0.1])]


def _tiff(path: Path, pages: int) -> Path:
    images = [text_image([f"page {i}"], seed=i) for i in range(pages)]
    images[0].save(path, save_all=True, append_images=images[1:])
    return path


def _config(fail_page: int) -> PipelineConfig:
    return PipelineConfig(
        name="t",
        stages=[
            StageSpec(kind="test.boom", options={"fail_page": fail_page}),
            StageSpec(kind="order.reading"),
        ],
    )


def test_a_failing_page_makes_the_document_partial(tmp_path: Path) -> None:
    BoomStage.batches.clear()
    document = Pipeline(_config(fail_page=2)).process(_tiff(tmp_path / "p.tif", 6))
    assert document.status == "partial"
    assert [(e.stage, e.page) for e in document.errors] == [("test.boom", 2)]
    assert BoomStage.batches == [4, 1, 1, 1, 1, 2]  # the failing batch is retried page by page
    texts = [[line.text for line in page.lines()] for page in document.pages]
    assert texts[2] == [] and all(t == ["900x400"] for i, t in enumerate(texts) if i != 2)
    assert document.pipeline is not None and "test.boom" in document.pipeline.timings_ms


def test_ok_document_and_config_hash_changes_with_options(tmp_path: Path) -> None:
    document = Pipeline(_config(fail_page=-1)).process(_tiff(tmp_path / "p.tif", 2))
    assert document.status == "ok" and len(document.pages) == 2
    assert _config(-1).config_hash() != _config(5).config_hash()
    assert _config(-1).config_hash() == _config(-1).config_hash()


def test_unknown_option_fails_at_load() -> None:
    import pytest

    from pipelines.execution.config import load_profile

    with pytest.raises(ValueError, match="fail_pag"):
        PipelineConfig(
            name="t", stages=[StageSpec(kind="test.boom", options={"fail_pag": 1})]
        ).build_stages()
    assert load_profile("default").stages[0].kind == "preprocess.orientation"


def test_pages_of_several_documents_share_batches(tmp_path: Path) -> None:
    BoomStage.batches.clear()
    paths = []
    for i in range(6):  # six one-page receipts: batches of 4 and 2, not six batches of 1
        path = tmp_path / f"r{i}.png"
        text_image([f"receipt {i}"], seed=i).save(path)
        paths.append(path)
    documents = list(Pipeline(_config(fail_page=-1)).process_many([(p, None) for p in paths]))
    assert BoomStage.batches == [4, 2]
    assert [d.source_name for d in documents] == [p.name for p in paths]  # input order
    assert all(d.status == "ok" and len(d.pages) == 1 for d in documents)
    assert all(d.pipeline is not None and "test.boom" in d.pipeline.timings_ms for d in documents)


def test_a_bad_page_or_file_in_a_shared_batch_fails_alone(tmp_path: Path) -> None:
    BoomStage.batches.clear()
    good = [tmp_path / "a.tif", tmp_path / "c.tif"]
    _tiff(good[0], 3)
    _tiff(good[1], 3)
    broken = tmp_path / "b.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    progress: list[tuple[int, int]] = []
    documents = list(
        Pipeline(_config(fail_page=1)).process_many(
            [(good[0], None), (broken, None), (good[1], None)],
            on_progress=lambda position, pages: progress.append((position, pages)),
        )
    )
    assert [d.status for d in documents] == ["partial", "failed", "partial"]
    assert documents[1].errors[0].stage == "ingest"
    # Page 1 of each TIFF fails; it is isolated, the other pages of the batch are read.
    for document in (documents[0], documents[2]):
        assert [(e.stage, e.page) for e in document.errors] == [("test.boom", 1)]
        assert [len(list(p.lines())) for p in document.pages] == [1, 0, 1]
    assert (0, 3) in progress and (2, 3) in progress
