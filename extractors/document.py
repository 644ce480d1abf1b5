"""The document model: the public, versioned result of processing one input file.

`Document > Page > Block > Line > Word`, `Page.tables > Cell`, plus document-level entities,
fields and relations that refer to element ids. Boxes are `[x0, y0, x1, y1]` relative to the
page as the input file presents it (0..1, origin top-left). The JSON form of `Document` is the
export contract `folio.document/4` (see docs/document-schema.md); change it only by bumping
`SCHEMA_VERSION`. Versions 1 and 2 still load (2 added element ids, 3 tables that continue across
pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

SCHEMA_VERSION: Literal["folio.document/4"] = "folio.document/4"
READABLE_SCHEMAS = ("folio.document/1", "folio.document/2", "folio.document/3", SCHEMA_VERSION)

BBox = list[float]
BlockKind = Literal[
    "text",
    "title",
    "list",
    "table",
    "figure",
    "caption",
    "header",
    "footer",
    "reference",
    "equation",
]
BLOCK_KINDS: tuple[str, ...] = BlockKind.__args__  # type: ignore[attr-defined]
Status = Literal["ok", "partial", "failed"]
# "native": text read from the file's own structure (Office documents), not a PDF layer or OCR.
TextSource = Literal["pdf", "ocr", "mixed", "native", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


# Validation context flag for data Folio wrote itself (staged bundles): skips re-normalising
# every box, which dominates load time for dense pages.
TRUSTED = "trusted"


def _check_bbox(value: BBox) -> BBox:
    if len(value) != 4:
        raise ValueError(f"bbox needs 4 numbers, got {len(value)}")
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in value)
    return [
        round(min(x0, x1), 5),
        round(min(y0, y1), 5),
        round(max(x0, x1), 5),
        round(max(y0, y1), 5),
    ]


class _Boxed(_Model):
    bbox: BBox
    confidence: float = 1.0
    source: str = ""

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: BBox, info: ValidationInfo) -> BBox:
        if info.context and info.context.get(TRUSTED):
            return value  # already normalised by the stage that made it
        return _check_bbox(value)


class Word(_Boxed):
    id: str
    text: str


class Line(_Boxed):
    id: str
    text: str
    words: list[Word] = Field(default_factory=list)


class Block(_Boxed):
    id: str
    kind: BlockKind = "text"
    order: int = 0
    lines: list[Line] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class Cell(_Model):
    id: str = ""  # "<table id>-c<row>-<col>"; corrections and analysts refer to it
    row: int
    col: int
    row_span: int = 1
    col_span: int = 1
    text: str = ""
    bbox: BBox | None = None
    is_header: bool = False
    confidence: float = 1.0
    word_ids: list[str] = Field(default_factory=list)  # the page words inside the cell


class Table(_Boxed):
    id: str
    block_id: str | None = None  # the page block (kind "table") this table fills
    n_rows: int
    n_cols: int
    cells: list[Cell] = Field(default_factory=list)
    # A table that goes on from the previous page: the id of the part it continues (the first
    # part's id names the logical table) and how many of its leading rows repeat that header.
    continues: str | None = None
    repeated_header_rows: int = 0


class Page(_Model):
    id: str
    index: int
    width: float
    height: float
    unit: Literal["px", "pt"]
    rotation: int = 0
    skew: float = 0.0
    text_source: TextSource = "none"
    blocks: list[Block] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)

    def lines(self) -> Iterator[Line]:
        for block in self.blocks:
            yield from block.lines

    def words(self) -> Iterator[Word]:
        for line in self.lines():
            yield from line.words

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in sorted(self.blocks, key=lambda b: b.order))


class Entity(_Model):
    id: str
    label: str
    text: str
    value: str | None = None
    page: int | None = None
    bbox: BBox | None = None
    confidence: float = 1.0
    source: str = ""
    word_ids: list[str] = Field(default_factory=list)  # the words the entity was read from


class DocField(_Model):
    id: str = ""  # unique in the document: two fields of one name (two totals) do not collide
    name: str
    value: str | None
    page: int | None = None
    bbox: BBox | None = None
    confidence: float = 1.0
    source: str = ""
    word_ids: list[str] = Field(default_factory=list)  # the words the value was read from
    evidence: str = ""  # what supports it, e.g. the label it followed ("Total incl. VAT")
    item: int | None = None  # line-item number for item fields (item_description, ...)
    flags: list[str] = Field(default_factory=list)  # cross-checks it failed


class Relation(_Model):
    id: str
    label: str  # key_value, person_org, org_amount, party_date, checkbox_label, ...
    head: str  # entity ids
    tail: str
    confidence: float = 1.0
    source: str = ""
    page: int | None = None
    evidence: str = ""  # the supporting sentence or line


class ErrorRecord(_Model):
    stage: str
    page: int | None = None
    message: str


class PipelineInfo(_Model):
    """How this result was made: enough to reproduce it and to tell two runs apart."""

    profile: str
    config_hash: str
    stages: dict[str, str] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    started_at: str = ""
    elapsed_ms: float = 0.0


class Document(_Model):
    schema_: Literal["folio.document/4"] = Field(default=SCHEMA_VERSION, alias="schema")
    document_id: str
    source_name: str
    source_path: str
    sha256: str
    media_type: str = ""
    size_bytes: int = 0
    status: Status = "ok"
    errors: list[ErrorRecord] = Field(default_factory=list)
    doc_type: str | None = None  # receipt, invoice, form, letter, contract, report, other
    doc_type_confidence: float | None = None
    review_reasons: list[str] = Field(default_factory=list)  # why a reviewer should look first
    pages: list[Page] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    fields: list[DocField] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    pipeline: PipelineInfo | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("schema_", mode="before")
    @classmethod
    def _upgrade(cls, value: object) -> object:
        # Later versions only added fields with defaults (element ids, filled in below; table
        # continuation), so an older document upgrades as it is.
        return SCHEMA_VERSION if value in READABLE_SCHEMAS else value

    @model_validator(mode="after")
    def _element_ids(self) -> Document:
        """Ids analysts and corrections refer to, for elements a stage left without one."""
        for page in self.pages:
            for table in page.tables:
                for cell in table.cells:
                    cell.id = cell.id or f"{table.id}-c{cell.row}-{cell.col}"
        for number, doc_field in enumerate(self.fields):
            doc_field.id = doc_field.id or f"f{number}"
        return self

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Document:
        return cls.model_validate_json(text)

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)


def document_id_for(sha256: str) -> str:
    """The id of a document derives from its content, so the same bytes are one document."""
    return f"doc-{sha256[:16]}"
