"""The one protocol every stage follows, and the registry that maps `kind` strings to stages.

A page stage runs over a batch of `PageContext`s: `predict(batch)` is the model-only part (batched,
the part a GPU runs), `annotate(batch, predictions)` is pure Python that writes the document.
A document stage does the same over one `Document`. Stages never touch files, databases or global
settings; they raise `StageError` with the stage, document and page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from extractors.document import Document, Page
from models.runtime import DEFAULT_RUNTIME, Runtime

Image = np.ndarray  # HxWx3 uint8 RGB


class StageOptions(BaseModel):
    """Base for a stage's options: unknown keys fail when the profile loads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Pages per call of the stage (None: the stage's own default). A GPU profile raises it;
    # stages are written so that batching never changes a result, so it is not hashed.
    batch_size: int | None = Field(default=None, ge=1, le=4096)

    def hashed(self) -> dict[str, Any]:
        """The options that can change a result (what the config hash covers)."""
        return self.model_dump(mode="json", exclude={"batch_size"})


class StageError(Exception):
    """A failure inside a stage, located precisely enough for a reviewer to act on."""

    def __init__(
        self, stage: str, message: str, document_id: str = "", page: int | None = None
    ) -> None:
        self.stage, self.message, self.document_id, self.page = stage, message, document_id, page
        where = f" (document {document_id}" + (f", page {page}" if page is not None else "") + ")"
        super().__init__(f"[{stage}] {message}" + (where if document_id else ""))


@dataclass
class Region:
    """A layout region found on a page (presented-page relative bbox)."""

    kind: str  # one of document.BLOCK_KINDS
    bbox: list[float]
    confidence: float
    source: str


# Keys of PageContext.scratch shared between stages (the contract between them):
LINES = "lines"  # list[document.Line]: text lines with words, from the PDF text layer or OCR
REGIONS = "regions"  # list[Region]: layout regions; the reading-order stage turns both into blocks
RULINGS = "rulings"  # list[extractors.rulings.Ruling]: vector lines of a PDF page (from ingest)
# Scratch is dropped when a page's stages are done: what no later stage reads is lost.
SCRATCH = frozenset({LINES, REGIONS, RULINGS})
# What `requires`/`produces`/`uses` name besides the scratch keys:
IMAGE = "image"  # the page's pixels (ingest renders them on demand)
BLOCKS = "page.blocks"  # the page's ordered blocks: the text a document keeps
TABLES = "page.tables"  # the page's tables with their cells (and the table blocks they fill)
INGEST_PROVIDES = frozenset({IMAGE, RULINGS})


@dataclass
class PageContext:
    """A page in flight: the model element plus the pixels stages need (never exported).

    `image` is the page as the input presents it. Preprocessing may replace `work_image` with a
    rotated/deskewed copy; `to_page` maps work-image pixels back to the presented page, so every
    stage writes boxes in the input's own frame.
    """

    document_id: str
    page: Page
    render: Callable[[], Image] | None = None
    text_layer_usable: bool = False
    _image: Image | None = None
    work_image: Image | None = None
    # 2x3 affine matrix: work-image pixel (x, y, 1) -> presented-image pixel (x, y).
    to_page: np.ndarray = field(default_factory=lambda: np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def image(self) -> Image:
        if self._image is None:
            if self.render is None:
                raise StageError("render", "page has no image", self.document_id, self.page.index)
            self._image = self.render()
        return self._image

    @property
    def work(self) -> Image:
        return self.work_image if self.work_image is not None else self.image

    def relative_bbox(self, points: np.ndarray) -> list[float]:
        """Axis-aligned page-relative box of work-image points (N x 2 pixels)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        mapped = pts @ self.to_page[:, :2].T + self.to_page[:, 2]
        h, w = self.image.shape[:2]
        x0, y0 = mapped.min(axis=0)
        x1, y1 = mapped.max(axis=0)
        return [x0 / w, y0 / h, x1 / w, y1 / h]

    def release(self) -> None:
        """Drop pixels once every page stage is done, to keep memory flat on long documents."""
        self._image = None
        self.work_image = None
        self.scratch.clear()


OptionsT = TypeVar("OptionsT", bound=StageOptions)


class _StageBase(Generic[OptionsT]):
    kind: ClassVar[str]
    version: ClassVar[str] = "1"
    batch_size: ClassVar[int] = 1
    requires: ClassVar[tuple[str, ...]] = ()  # inputs an earlier stage (or ingest) must make
    uses: ClassVar[tuple[str, ...]] = ()  # optional inputs, read when an earlier stage made them
    produces: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[StageOptions]] = StageOptions

    def __init__(self, options: OptionsT | None = None, runtime: Runtime = DEFAULT_RUNTIME) -> None:
        self.options: OptionsT = options if options is not None else self.Options()  # type: ignore[assignment]
        self.runtime = runtime  # device and threads for the stage's models, from the pipeline

    @property
    def name(self) -> str:
        return self.kind

    @property
    def recorded_version(self) -> str:
        """The version results record (`pipeline.stages`): the code's, plus for stages that
        read a learned model, which model; so review statistics per stage version compare
        models too."""
        return self.version

    @property
    def pages_per_batch(self) -> int:
        return max(1, self.options.batch_size or self.batch_size)


class PageStage(_StageBase[OptionsT]):
    """A stage over batches of pages."""

    batch_size: ClassVar[int] = 8  # the default of `options.batch_size`

    def applies_to(self, ctx: PageContext) -> bool:
        """Pages this stage skips (e.g. OCR skips pages with a usable text layer)."""
        return True

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        return [None] * len(batch)

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        raise NotImplementedError

    def __call__(self, batch: Sequence[PageContext]) -> None:
        todo = [ctx for ctx in batch if self.applies_to(ctx)]
        if todo:
            self.annotate(todo, self.predict(todo))


class DocumentStage(_StageBase[OptionsT]):
    """A stage over one whole document (entities, relations, fields)."""

    batch_size: ClassVar[int] = 1

    def predict(self, document: Document) -> Any:
        return None

    def annotate(self, document: Document, prediction: Any) -> None:
        raise NotImplementedError

    def __call__(self, document: Document) -> None:
        self.annotate(document, self.predict(document))


AnyStage = PageStage[Any] | DocumentStage[Any]
REGISTRY: dict[str, type[PageStage[Any]] | type[DocumentStage[Any]]] = {}

S = TypeVar("S", bound=type)


def register(cls: S) -> S:
    """Class decorator: make a stage available to profiles under its `kind`."""
    kind = cls.kind  # type: ignore[attr-defined]
    if kind in REGISTRY and REGISTRY[kind] is not cls:
        raise ValueError(f"stage kind {kind!r} registered twice")
    REGISTRY[kind] = cls
    return cls


def build_stage(
    kind: str, options: dict[str, Any] | None = None, runtime: Runtime = DEFAULT_RUNTIME
) -> AnyStage:
    """Instantiate a registered stage; unknown kinds and option keys fail here, at load time."""
    import extractors.stages  # noqa: F401  (registers the built-in stages)

    if kind not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown stage kind {kind!r}; known kinds: {known}")
    cls = REGISTRY[kind]
    return cls(cls.Options.model_validate(options or {}), runtime)


class DataFlowError(ValueError):
    """A profile whose stages cannot feed each other (checked when the profile loads)."""


def check_data_flow(stages: Sequence[AnyStage]) -> None:
    """Every stage's `requires` is made by ingest or an earlier stage; nothing a stage `uses`
    comes from a later one; every scratch artefact made is read by a later stage (otherwise
    it is silently dropped, e.g. OCR lines without `order.reading`)."""
    available: dict[str, str] = {name: "ingest" for name in INGEST_PROVIDES}
    makers = {name: stage.name for stage in stages for name in stage.produces}
    for position, stage in enumerate(stages):
        for name in stage.requires:
            if name not in available:
                later = f" ({makers[name]} makes it but runs later)" if name in makers else ""
                raise DataFlowError(
                    f"stage {stage.name} requires {name!r}, which no earlier stage makes{later}"
                )
        for name in stage.uses:
            if name not in available and name in makers:
                raise DataFlowError(
                    f"stage {stage.name} reads {name!r}, but {makers[name]} makes it later: "
                    f"move {makers[name]} before {stage.name}"
                )
        for name in stage.produces:
            available.setdefault(name, stage.name)
        for name in set(stage.produces) & SCRATCH:
            readers = [s for s in stages[position + 1 :] if name in (*s.requires, *s.uses)]
            if not readers:
                raise DataFlowError(
                    f"stage {stage.name} makes {name!r} but no later stage reads it, so it would "
                    "be dropped (add order.reading after it)"
                )
