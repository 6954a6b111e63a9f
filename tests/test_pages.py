"""Every page through Streamlit's AppTest: at defaults, and after changing each control."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import contract
from tests.quick import QUICK
from ui.catalog import PHENOMENA

TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _page(spec, overrides=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # the first run registers st.navigation's pages, so switch_page finds dashed url paths
    for key, value in (overrides or {}).items():
        at.session_state[key] = value
    at.switch_page(spec.path)
    at.run()
    return at


def _no_errors(at):
    assert not at.exception, [e.message for e in at.exception]


def test_home_page_lists_every_phenomenon():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_errors(at)
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for spec in PHENOMENA:
        assert spec.claim in text


@pytest.mark.parametrize("spec", PHENOMENA, ids=lambda s: s.url_path)
def test_page_at_defaults(spec):
    at = _page(spec)
    _no_errors(at)
    assert not at.error
    assert [m.label for m in at.metric][:4] == ["Parameters", "p / n", "Training FLOPs", "Wall time"]
    assert any(e.label == "Why?" for e in at.expander)


WIDGET_KINDS = ("slider", "select_slider", "selectbox", "text_input", "number_input", "toggle", "checkbox", "radio", "multiselect")


def _widget(at, key):
    """The widget with this key, whatever its kind."""
    for kind in WIDGET_KINDS:
        for w in getattr(at, kind):
            if w.key == key:
                return w
    raise AssertionError(f"no widget with key {key!r}")


def _other_value(widget, param):
    if param.choices:
        return next(c for c in param.choices if c != widget.value)
    if param.kind is bool:
        return not widget.value
    if param.kind is tuple:
        return ", ".join(str(int(param.lo) + i) for i in range(1, 3))
    low = param.kind(param.lo)
    return low if widget.value != low else param.kind(param.lo + (param.step or 1))


def _quick_values(spec):
    exp = contract.get(spec.url_path)
    quick = QUICK.get(spec.url_path, {})
    values = {}
    for p in contract.params(exp.config):
        if p.name in quick:
            parsed = contract.coerce(p, quick[p.name])
            values[p.name] = quick[p.name] if p.kind is tuple else parsed
    return values


def _cases():
    for spec in PHENOMENA:
        for p in contract.params(contract.get(spec.url_path).config):
            yield pytest.param(spec, p, id=f"{spec.url_path}-{p.name}")


@pytest.mark.parametrize("spec,param", list(_cases()))
def test_changing_each_control(spec, param):
    at = _page(spec, _quick_values(spec))
    _no_errors(at)
    widget = _widget(at, param.name)
    widget.set_value(_other_value(widget, param)).run()
    _no_errors(at)
    # either a chart was drawn, or the page said plainly why not (e.g. over the compute budget)
    assert at.get("vega_lite_chart") or at.error or at.warning


def test_bad_list_is_corrected_with_a_notice():
    spec = PHENOMENA[0]
    at = _page(spec, {**_quick_values(spec), "widths": "10, abc"})
    _no_errors(at)
    assert any("widths" in w.value for w in at.warning)


def test_preset_sets_the_controls():
    spec = PHENOMENA[0]
    at = _page(spec, _quick_values(spec))
    at.selectbox(key="_preset_optimization").set_value("Adam instead of SGD")
    at.session_state["steps"] = 200  # keep it cheap; the preset sets the rest
    at.run()
    _no_errors(at)
    assert at.selectbox(key="optimizer").value == "adam"
