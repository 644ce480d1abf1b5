"""Pipeline mechanics with stand-in stages: batching, page isolation, status, timings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from extractors.document import Line
from extractors.stage import LINES, PageContext, PageStage, StageOptions, register
from pipelines.config import PipelineConfig, StageSpec
from pipelines.pipeline import Pipeline
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

    from pipelines.config import load_profile

    with pytest.raises(ValueError, match="fail_pag"):
        PipelineConfig(
            name="t", stages=[StageSpec(kind="test.boom", options={"fail_pag": 1})]
        ).build_stages()
    assert load_profile("default").stages[0].kind == "preprocess.orientation"
