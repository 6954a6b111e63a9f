"""Controls built from a Config's declared fields; each widget's key is the field name and its
value lives in the URL, so a copied link reproduces the chart."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import contract, repair
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
        value, notice = checked(p, values[-1])  # a repeated key keeps its last value, as on the CLI
        if len(values) > 1 and not notice:  # Streamlit's binding would drop it to the default
            notice = f"{p.name}: {len(values)} values given, one allowed — using {contract.to_text(value)}"
        if notice:
            st.session_state[p.name] = widget_value(p, value)
            notices.append(notice)
    return notices


def correct_rules(experiment: contract.Experiment) -> list[str]:
    """Open a link whose values are each valid but break a rule between fields or the compute
    budget at the nearest setting that runs, and say what was changed.

    Called right after ``correct_url`` on a page's first run, before the widgets exist: the link's
    values (as corrected there) make the Config; each changed field goes into both the session
    state and the address bar, so the widget, the chart and a copied link agree.
    """
    values = {}
    for p in contract.params(experiment.config):
        given = st.query_params.get_all(p.name)
        values[p.name] = checked(p, given[-1])[0] if given else p.default
    config = experiment.config(**values)
    repaired, notices = repair.nearest_setting(experiment, config)
    for p in contract.params(experiment.config):
        value = getattr(repaired, p.name)
        if value != getattr(config, p.name):
            st.session_state[p.name] = widget_value(p, value)
            st.query_params[p.name] = contract.to_text(value)
    return notices


def checked(p: Param, raw: Any) -> tuple[Any, str | None]:
    """The value to use for ``raw``: itself when valid, else the nearest valid one and a notice."""
    try:
        return contract.coerce(p, raw), None
    except ConfigError as err:
        near = contract.nearest_valid(p, raw)
        return near, f"{err} — using {contract.to_text(near)}"


def widget_value(p: Param, value: Any) -> Any:
    """A field value as its widget holds it (lists live in a text box)."""
    return contract.to_text(value) if p.kind is tuple else value


def control(p: Param, container: Any = st) -> Any:
    """One widget for one field, bound to the URL; returns the raw widget value."""
    # The field's default is always the widget's default (also when session state holds a value):
    # Streamlit keeps a bound widget out of the address bar while it equals that default, so a
    # link holds only what differs, also after a preset has set every control.
    kwargs: dict[str, Any] = {"key": p.name, "help": p.help, "bind": "query-params",
                              "value" if p.kind is not str else "index": widget_value(p, p.default)}
    label = p.label
    if p.choices:
        kwargs.pop("value", None)
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


def read_config(config_cls: type, fields: list[Param], raw: dict[str, Any]) -> tuple[Any, list[str]]:
    """Build the Config from widget values; a bad value is replaced by its nearest valid one and
    reported, so the page always has something sensible to draw."""
    values, problems = {}, []
    for p in fields:
        values[p.name], notice = checked(p, raw[p.name])
        if notice:
            problems.append(notice)
    return config_cls(**values), problems
