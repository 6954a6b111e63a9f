"""Vega-Lite specs cut into panels the page can lay out itself, and enlarged for a lecture hall.

Vega-Lite gives each panel of an ``hconcat`` a fixed width, so two panels of 300 px run off the
right edge of a 390 px phone, and "container" width does not apply to concatenated views. The
page therefore draws each panel as a chart of its own inside Streamlit columns (which stack on a
narrow screen) and lets every panel take its column's width. Pure dict work: no Streamlit here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

#: Keys of a top-level spec that every panel needs when drawn on its own.
_SHARED = ("$schema", "config", "datasets", "usermeta")

#: Columns of a legend placed below or above a panel: one, since two entries of a long label
#: ("compute-optimal (training only)") side by side are wider than a phone.
LEGEND_COLUMNS = 1

#: Panels are this much taller in lecture mode, so the larger axis titles still fit beside them.
LECTURE_HEIGHT = 1.3

#: Chart text sizes in lecture mode (Vega-Lite's defaults are 10-11 px: unreadable from the back).
LECTURE_FONTS: dict[str, dict[str, Any]] = {
    "axis": {"labelFontSize": 17, "titleFontSize": 19},
    "legend": {"labelFontSize": 17, "titleFontSize": 18, "symbolSize": 180, "labelLimit": 0},
    "header": {"labelFontSize": 17, "titleFontSize": 19},
    "title": {"fontSize": 21},
    "text": {"fontSize": 17},
}


def rows(spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The spec as rows of stand-alone panels: an ``hconcat`` is one row of its panels, a
    ``vconcat`` one row per part (each cut again), anything else one row of itself.

    A panel keeps its own height; its width is dropped where the row has several panels (the
    column decides), and kept as a preferred width where it stands alone (a square plot stays
    square on a wide screen)."""
    shared = {k: spec[k] for k in _SHARED if k in spec}
    out: list[list[dict[str, Any]]] = []
    for row in _split(spec):
        panels = []
        for part in row:
            panel = {**shared, **{k: v for k, v in part.items() if k not in _SHARED}}
            if "datasets" in panel:
                panel["datasets"] = _used(panel)
            if len(row) > 1:
                panel.pop("width", None)
            panels.append(_stacked_legends(_wrapped_legends(panel)))
        out.append(panels)
    return out


def _split(spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
    body = {k: v for k, v in spec.items() if k not in _SHARED}
    if "hconcat" in body:
        parts = [_inherit(body, p) for p in body["hconcat"]]
        if any("hconcat" in p or "vconcat" in p for p in parts):
            return [row for p in parts for row in _split(p)]
        return [parts]
    if "vconcat" in body:
        return [row for p in body["vconcat"] for row in _split(_inherit(body, p))]
    return [[body]]


def _inherit(parent: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """A concatenated part with what its parent gave every part (data and transforms)."""
    part = dict(part)
    if "data" in parent and "data" not in part:
        part["data"] = parent["data"]
    if "transform" in parent:
        part["transform"] = [*parent["transform"], *part.get("transform", [])]
    return part


def _wrapped_legends(spec: Any) -> Any:
    """Legends below or above a plot in LEGEND_COLUMNS columns: Vega lays their entries out in
    one row, which a panel as narrow as a phone clips (a legend that sets its columns keeps them)."""
    if isinstance(spec, list):
        return [_wrapped_legends(x) for x in spec]
    if not isinstance(spec, dict):
        return spec
    out = {k: (v if k == "datasets" else _wrapped_legends(v)) for k, v in spec.items()}
    legend = out.get("legend")
    if isinstance(legend, dict) and legend.get("orient") in ("bottom", "top") and "columns" not in legend:
        out["legend"] = {**legend, "columns": LEGEND_COLUMNS}
    return out


def _stacked_legends(panel: dict[str, Any]) -> dict[str, Any]:
    """Several legends below (or above) a plot stacked one under another: Vega puts them side by
    side, and a panel as narrow as a phone clips the second one. The plot keeps its height."""
    config = dict(panel.get("config", {}))
    legend = dict(config.get("legend", {}))
    legend.setdefault("layout", {side: {"direction": "vertical", "anchor": "middle"} for side in ("bottom", "top")})
    # the width fits the column; the height is the plot's own, legends and axes added below it
    # (fitting both squeezed a plot with stacked legends to a strip)
    return {"autosize": {"type": "fit-x", "contains": "padding"}, **panel, "config": {**config, "legend": legend}}


def _used(panel: dict[str, Any]) -> dict[str, Any]:
    """Only the named datasets this panel refers to (each is sent to the browser with it)."""
    text = json.dumps({k: v for k, v in panel.items() if k != "datasets"})
    return {name: rows_ for name, rows_ in panel["datasets"].items() if f'"{name}"' in text}


def width_of(panel: dict[str, Any]) -> int | None:
    """The panel's preferred width in pixels, when it declares one (a layer may carry it)."""
    width = panel.get("width")
    if isinstance(width, int | float):
        return int(width)
    for layer in panel.get("layer", []):
        if isinstance(layer.get("width"), int | float):
            return int(layer["width"])
    return None


def stretchable(panel: dict[str, Any]) -> dict[str, Any]:
    """The panel without fixed widths, so it takes the width Streamlit gives it."""
    panel = dict(panel)
    panel.pop("width", None)
    if "layer" in panel:
        panel["layer"] = [{k: v for k, v in layer.items() if k != "width"} for layer in panel["layer"]]
    return panel


def enlarged(panel: dict[str, Any]) -> dict[str, Any]:
    """The panel with lecture-size text (axis, legend, title and text marks), and taller."""
    panel = copy.copy(panel)
    if isinstance(panel.get("height"), int | float):
        panel["height"] = round(panel["height"] * LECTURE_HEIGHT)
    config = copy.deepcopy(panel.get("config", {}))
    for section, sizes in LECTURE_FONTS.items():
        config[section] = {**config.get(section, {}), **sizes}
    panel["config"] = config
    return panel
