"""Reading order (`order.reading`, run last among page stages): lines + regions -> ordered blocks.

Each line goes to the layout region holding most of it; lines outside every region are grouped by
proximity into new text blocks. Blocks are ordered by recursive XY-cut (columns before rows, so two
columns whose paragraph gaps happen to line up are still read column by column), with page headers
first and footers last. Ids are renumbered in reading order: `p{page}-b{n}`, `-l{n}`, `-w{n}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from extractors.document import BLOCK_KINDS, Block, Line, Word
from extractors.geometry import Box, best_containers, projection_gaps, split_at
from extractors.geometry import as_box as _box
from extractors.geometry import union as _union
from extractors.stage import (
    BLOCKS,
    LINES,
    REGIONS,
    PageContext,
    PageStage,
    Region,
    StageOptions,
    register,
)
from extractors.stages.layout import text_coverage

# Regions that stand for something on the page even when no text line falls inside them.
_KEEP_EMPTY = frozenset({"figure", "table", "equation"})


@dataclass
class _Group:
    """A block in the making."""

    kind: str
    box: Box
    confidence: float
    source: str
    lines: list[Line] = field(default_factory=list)


def assign_lines(
    lines: Sequence[Line], regions: Sequence[Region], min_share: float
) -> tuple[list[list[Line]], list[Line]]:
    """Lines per region (the region covering the largest share of the line; the smaller region on
    a tie, so a title nested in a text box goes to the title) and the lines no region holds."""
    per_region: list[list[Line]] = [[] for _ in regions]
    loose: list[Line] = []
    found = best_containers(
        [_box(ln.bbox) for ln in lines], [_box(r.bbox) for r in regions], min_share
    )
    for line, best in zip(lines, found, strict=True):
        (per_region[best] if best >= 0 else loose).append(line)
    return per_region, loose


def group_loose_lines(lines: Sequence[Line], gap_factor: float) -> list[list[Line]]:
    """Paragraph-like groups of lines: a line joins the group whose last line sits just above it
    (vertical gap < gap_factor x line height), overlaps it horizontally and has a similar
    height."""
    groups: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        x0, y0, x1, y1 = line.bbox
        height = max(y1 - y0, 1e-6)
        target = None
        for group in groups:
            gx0, gy0, gx1, gy1 = group[-1].bbox
            overlap = min(x1, gx1) - max(x0, gx0)
            narrower = max(min(x1 - x0, gx1 - gx0), 1e-6)
            gap = y0 - gy1
            last_height = max(gy1 - gy0, 1e-6)
            similar = 0.75 <= height / last_height <= 1.33  # a heading is not its paragraph
            if similar and overlap / narrower > 0.3 and -0.5 * height < gap < gap_factor * height:
                target = group
                break
        if target is None:
            groups.append([line])
        else:
            target.append(line)
    return groups


def order_lines(lines: Sequence[Line]) -> list[Line]:
    """Top-to-bottom rows (lines overlapping vertically by half the smaller height), each row
    left-to-right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2):
        if rows:
            last = rows[-1][-1]
            overlap = min(line.bbox[3], last.bbox[3]) - max(line.bbox[1], last.bbox[1])
            smaller = min(line.bbox[3] - line.bbox[1], last.bbox[3] - last.bbox[1])
            if smaller > 0 and overlap >= 0.5 * smaller:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.bbox[0])]


def xy_cut(boxes: Sequence[Box], min_gap: float = 0.005) -> list[int]:
    """Reading order of boxes by recursive XY-cut: split at vertical gaps that run through the
    whole group (columns, left to right) if any, else at horizontal gaps (top to bottom);
    a group no gap splits is read top-to-bottom, left-to-right.

    Plain XY-cut reads two columns row by row when their paragraph gaps line up (the horizontal
    cut wins because a full-width title blocks the vertical one); adjacent strips with the same
    column gap are rejoined to avoid that.
    """

    def column_cuts(items: list[int]) -> list[float]:
        return projection_gaps([(boxes[i][0], boxes[i][2]) for i in items], min_gap)

    def visit(items: list[int]) -> list[int]:
        if len(items) <= 1:
            return items
        cuts = column_cuts(items)
        if cuts:
            return [j for part in split_at(items, boxes, 0, cuts) for j in visit(part)]
        cuts = projection_gaps([(boxes[i][1], boxes[i][3]) for i in items], min_gap)
        strips: list[list[int]] = []
        for strip in split_at(items, boxes, 1, cuts) if cuts else []:
            # Neighbouring multi-column strips whose columns line up are one column section
            # whose paragraph breaks happen to align: rejoin them so it is read column-wise.
            if strips and column_cuts(strips[-1]) and column_cuts(strips[-1] + strip):
                strips[-1] = strips[-1] + strip
            else:
                strips.append(strip)
        if len(strips) > 1:
            return [j for strip in strips for j in visit(strip)]
        return sorted(items, key=lambda i: (boxes[i][1], boxes[i][0]))

    return visit(list(range(len(boxes))))


def order_groups(groups: Sequence[_Group], min_gap: float) -> list[_Group]:
    """Headers (top to bottom), then the body by XY-cut, then footers."""

    def by_position(gs: list[_Group]) -> list[_Group]:
        return sorted(gs, key=lambda g: (g.box[1], g.box[0]))

    headers = by_position([g for g in groups if g.kind == "header"])
    footers = by_position([g for g in groups if g.kind == "footer"])
    body = [g for g in groups if g.kind not in ("header", "footer")]
    order = xy_cut([g.box for g in body], min_gap) if body else []
    return headers + [body[i] for i in order] + footers


def build_blocks(groups: Sequence[_Group], page_index: int, stage: str) -> list[Block]:
    """Blocks with ids renumbered in reading order."""
    blocks: list[Block] = []
    n_line = n_word = 0
    for n_block, group in enumerate(groups):
        lines: list[Line] = []
        for line in order_lines(group.lines):
            words: list[Word] = []
            for word in line.words:
                words.append(word.model_copy(update={"id": f"p{page_index}-w{n_word}"}))
                n_word += 1
            lines.append(line.model_copy(update={"id": f"p{page_index}-l{n_line}", "words": words}))
            n_line += 1
        kind = group.kind if group.kind in BLOCK_KINDS else "text"
        blocks.append(
            Block(
                id=f"p{page_index}-b{n_block}",
                kind=kind,  # type: ignore[arg-type]
                order=n_block,
                bbox=list(group.box),
                confidence=round(group.confidence, 4),
                source=group.source or stage,
                lines=lines,
            )
        )
    return blocks


class ReadingOrderOptions(StageOptions):
    min_line_share: float = 0.5
    """Share of a line's area a region must cover to own it."""
    line_gap_factor: float = 1.0
    """Loose lines join a group when the vertical gap is below this many line heights."""
    min_cut_gap: float = 0.005
    """Narrowest gap (page fraction) XY-cut splits at."""
    text_figure_lines: int = 3
    """A figure that owns at least this many text lines covering `text_figure_coverage` of it is
    text: CDLA calls dense text (receipts) a figure, and on scans OCR runs after layout, so this
    is the first stage that sees both."""
    text_figure_coverage: float = 0.25


@register
class ReadingOrderStage(PageStage[ReadingOrderOptions]):
    """Turns ctx.scratch lines and regions into ordered `page.blocks` with stable ids."""

    kind: ClassVar[str] = "order.reading"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (LINES,)
    uses: ClassVar[tuple[str, ...]] = (REGIONS,)  # without layout, blocks come from geometry
    produces: ClassVar[tuple[str, ...]] = (BLOCKS,)
    Options: ClassVar[type[StageOptions]] = ReadingOrderOptions
    batch_size: ClassVar[int] = 32

    def groups(self, lines: Sequence[Line], regions: Sequence[Region]) -> list[_Group]:
        opts = self.options
        per_region, loose = assign_lines(lines, regions, opts.min_line_share)
        groups: list[_Group] = []
        for region, owned in zip(regions, per_region, strict=True):
            if not owned and region.kind not in _KEEP_EMPTY:
                continue
            region_box = _box(region.bbox)
            kind = region.kind
            if kind == "figure" and len(owned) >= opts.text_figure_lines:
                coverage, _, _ = text_coverage(region.bbox, owned)
                kind = "text" if coverage >= opts.text_figure_coverage else kind
            line_box = _union([_box(ln.bbox) for ln in owned]) if owned else region_box
            # Text blocks hug their lines; pictures and grids keep the detected extent.
            box = _union([region_box, line_box]) if kind in _KEEP_EMPTY else line_box
            groups.append(_Group(kind, box, region.confidence, region.source, owned))
        for lines_ in group_loose_lines(loose, opts.line_gap_factor):
            box = _union([_box(ln.bbox) for ln in lines_])
            conf = sum(ln.confidence for ln in lines_) / len(lines_)
            groups.append(_Group("text", box, conf, self.kind, lines_))
        return groups

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx in batch:
            lines: list[Line] = ctx.scratch.get(LINES, [])
            regions: list[Region] = ctx.scratch.get(REGIONS, [])
            ordered = order_groups(self.groups(lines, regions), self.options.min_cut_gap)
            ctx.page.blocks = build_blocks(ordered, ctx.page.index, self.kind)
