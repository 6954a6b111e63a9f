"""Controls built from a Config's declared fields; each widget's key is the field name and its
value lives in the URL, so a copied link reproduces the chart."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import contract
from core.contract import ConfigError, Param

#: Integer ranges wider than this get a number box instead of a slider (a seed, say).
SLIDER_SPAN = 10_000


def correct_url(fields: list[Param]) -> list[str]:
    """Open a link with bad values at the nearest valid settings, and say what was changed.

    Called before the widgets exist, on a page's first run only: Streamlit ignores a query value
    its widget cannot take, and then falls back to the session state set here.
    """
    notices = []
    for p in fields:
        values = st.query_params.get_all(p.name)
        if not values:
            continue
        try:
            contract.coerce(p, values[0])
        except ConfigError as err:
            near = contract.nearest_valid(p, values[0])
            st.session_state[p.name] = contract.to_text(near) if p.kind is tuple else near
            notices.append(f"{err} — using {contract.to_text(near)}")
    return notices


def control(p: Param, container: Any = st) -> Any:
    """One widget for one field, bound to the URL; returns the raw widget value."""
    kwargs: dict[str, Any] = {"key": p.name, "help": p.help, "bind": "query-params"}
    if p.name not in st.session_state:
        kwargs["value" if p.kind is not str else "index"] = _initial(p)
    label = p.label
    if p.choices:
        kwargs.pop("value", None)
        if "index" in kwargs:
            kwargs["index"] = p.choices.index(p.default)
        return container.selectbox(label, p.choices, **kwargs)
    if p.kind is bool:
        return container.toggle(label, **kwargs)
    if p.kind is tuple:
        return container.text_input(label, **kwargs)
    if p.kind is int and (p.hi - p.lo) <= SLIDER_SPAN:
        return container.slider(label, int(p.lo), int(p.hi), step=int(p.step or 1), **kwargs)
    if p.kind is int:
        return container.number_input(label, int(p.lo), int(p.hi), step=1, **kwargs)
    if p.log:
        return container.number_input(label, float(p.lo), float(p.hi), format="%g", step=float(p.lo), **kwargs)
    return container.slider(label, float(p.lo), float(p.hi), step=float(p.step or (p.hi - p.lo) / 100), **kwargs)


def _initial(p: Param) -> Any:
    return contract.to_text(p.default) if p.kind is tuple else p.default


def read_config(config_cls: type, fields: list[Param], raw: dict[str, Any]) -> tuple[Any, list[str]]:
    """Build the Config from widget values; a bad value is replaced by its nearest valid one and
    reported, so the page always has something sensible to draw."""
    values, problems = {}, []
    for p in fields:
        try:
            values[p.name] = contract.coerce(p, raw[p.name])
        except ConfigError as err:
            values[p.name] = contract.nearest_valid(p, raw[p.name])
            problems.append(f"{err} — using {contract.to_text(values[p.name])}")
    return config_cls(**values), problems
