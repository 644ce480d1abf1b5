"""The page view: one inline `st.components.v2` component (no build, no iframe).

It draws one SVG with the page image and a `<rect data-box-id=...>` per box and reports the
clicked box id as a trigger value. Boxes are page-relative, scaled to the image in the browser.
The image is only replaced when its key changes, so a click redraws boxes, not the picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from workbench.overlay import Box, Link

JS = r"""
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  if (!data) return;
  const NS = "http://www.w3.org/2000/svg";
  let root = parentElement.querySelector(".folio-page");
  if (!root) {
    root = document.createElement("div");
    root.className = "folio-page";
    parentElement.appendChild(root);
  }
  const W = data.width, H = data.height;
  let svg = root.querySelector("svg");
  if (!svg || svg.dataset.imageKey !== data.image_key) {
    svg = document.createElementNS(NS, "svg");
    svg.dataset.imageKey = data.image_key;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const img = document.createElementNS(NS, "image");
    img.setAttribute("href", data.image);
    img.setAttribute("width", W);
    img.setAttribute("height", H);
    svg.appendChild(img);
    svg.appendChild(document.createElementNS(NS, "g"));
    root.replaceChildren(svg);
  }
  svg.style.width = `${Math.round(100 * (data.zoom || 1))}%`;
  const group = svg.querySelector("g");
  const rects = [];
  let chosen = null;
  for (const box of data.boxes) {
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("x", box.x0 * W);
    r.setAttribute("y", box.y0 * H);
    r.setAttribute("width", Math.max(1, (box.x1 - box.x0) * W));
    r.setAttribute("height", Math.max(1, (box.y1 - box.y0) * H));
    r.setAttribute("class", `box ${box.layer}`);
    r.setAttribute("data-box-id", box.id);
    r.style.setProperty("--c", box.colour);
    const title = document.createElementNS(NS, "title");
    title.textContent = box.label;
    r.appendChild(title);
    r.addEventListener("click", (event) => {
      event.stopPropagation();
      group.querySelectorAll(".selected").forEach((el) => el.classList.remove("selected"));
      r.classList.add("selected");
      setTriggerValue("clicked", box.id);
    });
    if (box.id === data.selected) { r.classList.add("selected"); chosen = r; }
    rects.push(r);
  }
  for (const link of data.links || []) {
    const l = document.createElementNS(NS, "line");
    l.setAttribute("x1", link.x0 * W);
    l.setAttribute("y1", link.y0 * H);
    l.setAttribute("x2", link.x1 * W);
    l.setAttribute("y2", link.y1 * H);
    l.setAttribute("class", "link");
    l.style.setProperty("--c", link.colour);
    const title = document.createElementNS(NS, "title");
    title.textContent = link.label;
    l.appendChild(title);
    rects.push(l);
  }
  group.replaceChildren(...rects);
  if (chosen) chosen.scrollIntoView({ block: "nearest", inline: "nearest" });
  if (data.focus) {
    let tries = 0;
    const focus = () => {
      const input = document.querySelector(data.focus);
      if (input && document.activeElement !== input) { input.focus(); input.select(); }
      else if (!input && tries++ < 20) setTimeout(focus, 50);
    };
    setTimeout(focus, 60);
  }
}
"""

CSS = r"""
.folio-page { max-height: 78vh; overflow: auto; border: 1px solid rgba(49, 51, 63, 0.15);
  border-radius: 0.5rem; background: #f6f6f4; line-height: 0; }
svg { display: block; height: auto; }
.box { fill: var(--c); fill-opacity: 0.10; stroke: var(--c); stroke-width: 1.5;
  vector-effect: non-scaling-stroke; cursor: pointer; }
.box:hover { fill-opacity: 0.28; stroke-width: 2.5; }
.box.blocks { fill: none; stroke-dasharray: 6 3; pointer-events: stroke; stroke-width: 1.5; }
.box.tables { fill: none; pointer-events: stroke; }
/* Entities and fields sit on top but let clicks inside reach the word under them:
   select them by their border or from the Entities/Fields tabs. */
.box.entities, .box.fields { fill-opacity: 0.18; stroke-width: 3; pointer-events: stroke; }
.box.selected { stroke: #1f6feb; stroke-width: 3.5; fill: #1f6feb; fill-opacity: 0.25; }
.box.blocks.selected { fill: none; }
/* Relations (key -> value, checkbox -> label) as lines between their ends' boxes. */
.link { stroke: var(--c); stroke-width: 2; stroke-opacity: 0.8; vector-effect: non-scaling-stroke;
  stroke-dasharray: 5 3; pointer-events: stroke; }
"""

_component = st.components.v2.component("folio_page_view", js=JS, css=CSS)


def page_view(
    image_url: str,
    image_key: str,
    width: int,
    height: int,
    boxes: list[Box],
    selected: str | None,
    zoom: float,
    key: str,
    on_click: Callable[[], None],
    focus: str | None = None,
    links: list[Link] | None = None,
) -> Any:
    """Mount the page view; `on_click` runs before the rerun when a box is clicked."""
    data = {
        "image": image_url,
        "image_key": image_key,
        "width": width,
        "height": height,
        "boxes": [box.as_dict() for box in boxes],
        "links": [link.as_dict() for link in links or []],
        "selected": selected,
        "zoom": zoom,
        "focus": focus,
    }
    return _component(data=data, key=key, on_clicked_change=on_click)


def clicked_id(key: str) -> str | None:
    """The box id the last click reported (inside the `on_click` callback)."""
    state = st.session_state.get(key)
    if state is None:
        return None
    value = state.get("clicked") if hasattr(state, "get") else getattr(state, "clicked", None)
    return str(value) if value else None
