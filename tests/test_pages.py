"""Every page through Streamlit's AppTest: at defaults, and after changing each control.

The Config a page ran with is read back from its Share box (the link with every non-default
setting of the run), so a page that ignored a control, or ran something else, fails here.

About the URL: AppTest runs the script but not the browser, and in Streamlit the browser writes a
bound widget's new value into the address bar; ``at.query_params`` therefore never changes after
a widget does (it keeps what the test set). So each control test checks the two halves AppTest can
see: the widget is bound to the URL under its field's name (``query_param_key``), and a fresh page
opened with the run's link as its query (``at.query_params``) runs the same Config. The browser
tests watch the address bar itself (tests/test_browser_features.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from core import contract, registry
from core.device import pick_device
from tests import quick
from ui.catalog import phenomena
from ui.page import _short

NAMES = registry.names()


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Many small page runs: one thread each (see conftest.one_thread)."""


def test_home_page_lists_every_phenomenon():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(quick.APP, default_timeout=quick.PAGE_TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for exp in phenomena():
        assert exp.claim in text


@pytest.mark.parametrize("name", NAMES)
def test_page_at_defaults(name):
    exp = registry.get(name)
    at = quick.open_page(exp)
    quick.assert_drew_a_chart(at)
    config = exp.config()
    assert quick.page_config(at, exp) == config
    params, n = exp.size(config)
    metrics = {m.label: m.value for m in at.metric}
    assert list(metrics)[:5] == ["Parameters", "p / n", "Training FLOPs", "Wall time", "Device"]
    assert metrics["Parameters"] == f"{params:,}"
    assert metrics["p / n"] == _short(round(params / n, 3))
    estimate = float(f"{exp.flops(config):.2g}")  # as shown; a run that stops early reports fewer
    assert 0 < float(metrics["Training FLOPs"]) <= estimate, (metrics["Training FLOPs"], estimate)
    assert float(metrics["Wall time"].removesuffix(" s")) >= 0
    assert metrics["Device"] == (exp.backend or pick_device().type).split(" ")[0]
    assert any(e.label == "Why?" for e in at.expander)


WIDGET_KINDS = ("slider", "select_slider", "selectbox", "text_input", "number_input", "toggle", "checkbox", "radio", "multiselect")


def _widget(at, key):
    """The widget with this key, whatever its kind."""
    for kind in WIDGET_KINDS:
        for w in getattr(at, kind):
            if w.key == key:
                return w
    raise AssertionError(f"no widget with key {key!r}")


def _grid(p: contract.Param, value: float) -> float | int:
    """A number on the widget's grid (sliders step from lo)."""
    if p.kind is int:
        step = int(p.step or 1)
        return int(p.lo + round((value - p.lo) / step) * step)
    if p.log:
        return float(f"{value:.3g}")
    step = p.step or (p.hi - p.lo) / 100
    return float(f"{p.lo + round((value - p.lo) / step) * step:.10g}")


def _candidates(p: contract.Param, current: Any) -> list[Any]:
    """Values for the widget (as it takes them) other than the current one, simplest first."""
    if p.choices:
        out = list(p.choices)
    elif p.kind is bool:
        out = [not current]
    elif p.kind is tuple:
        out = [", ".join(str(int(p.lo) + i) for i in range(a, a + 2)) for a in (1, 3, 10)]
    else:
        spread = np.geomspace(max(p.lo, 1e-12), p.hi, 9) if p.lo > 0 else np.linspace(p.lo, p.hi, 9)
        out = [_grid(p, v) for v in (p.lo, p.lo + (p.step or 1), *spread, p.default)]
    return [v for v in dict.fromkeys(out) if v != current]


def _other_value(exp, config, widget, p: contract.Param) -> tuple[Any, bool]:
    """A new value for the control and whether the run can take it: the first candidate whose
    setting is valid and cheap, else the cheapest valid one, else (a cross-field rule forbids
    every other value) the first candidate, which the page must refuse naming the field."""
    options = _candidates(p, widget.value)
    valid = []
    for value in options:
        candidate = dataclasses.replace(config, **{p.name: contract.coerce(p, value)})
        try:
            contract.validate(candidate)
        except contract.ConfigError:
            continue
        if exp.flops(candidate) <= quick.CHEAP_FLOPS:
            return value, True
        valid.append((exp.flops(candidate), value))
    if valid and min(valid)[0] <= contract.FLOP_BUDGET:
        return min(valid)[1], True
    return options[0], False


def _cases():
    for name in NAMES:
        try:
            fields = contract.params(registry.get(name).config)
        except Exception:  # a module that fails to import fails its own test, not the whole file
            yield pytest.param(name, None, id=f"{name}-import")
            continue
        for p in fields:
            yield pytest.param(name, p.name, id=f"{name}-{p.name}")


@pytest.mark.parametrize("name,field", list(_cases()))
def test_changing_each_control_reaches_the_run_and_the_link(name, field):
    exp = registry.get(name)
    p = next(p for p in contract.params(exp.config) if p.name == field)
    quick_config = quick.cheap(exp)
    at = quick.open_page(exp, quick.overrides(exp))  # the cheap setting, opened as a link
    quick.assert_drew_a_chart(at)
    assert quick.page_config(at, exp) == quick_config
    widget = _widget(at, field)
    assert widget.proto.query_param_key == field, "the control is not bound to the URL"
    new, runs = _other_value(exp, quick_config, widget, p)
    widget.set_value(new).run()
    if not runs:  # e.g. dataset=digits with model=linear: refused in one line that names the field
        assert not at.exception, [e.message for e in at.exception]
        assert [e.value.split(":")[0] for e in at.error] == [field], [e.value for e in at.error]
        return
    quick.assert_drew_a_chart(at)
    ran = quick.page_config(at, exp)
    assert ran == dataclasses.replace(quick_config, **{field: contract.coerce(p, new)}), (
        f"{field} set to {new!r}, the page ran {getattr(ran, field)!r}")
    quick.assert_charts_are_of(at, exp, ran)
    query = {k: v[0] for k, v in quick.share_query(at).items()}
    if getattr(ran, field) != p.default:
        assert query[field] == contract.to_text(getattr(ran, field))
    reopened = quick.open_page(exp, query)
    assert reopened.query_params == query
    quick.assert_drew_a_chart(reopened)
    assert quick.page_config(reopened, exp) == ran, "the run's link opens another setting"


def test_bad_list_is_corrected_with_a_notice():
    exp = registry.get("optimization")
    widths = next(p for p in contract.params(exp.config) if p.name == "widths")
    at = quick.open_page(exp, quick.overrides(exp))
    at.text_input(key="widths").set_value("10, abc").run()
    quick.assert_drew_a_chart(at)
    assert [w.value for w in at.warning] == [
        f"widths: '10, abc' is not valid; allowed: {widths.allowed()} — using {contract.to_text(widths.default)}"]
    assert quick.page_config(at, exp).widths == widths.default


def test_preset_sets_the_controls_and_the_run():
    exp = registry.get("optimization")
    at = quick.open_page(exp, quick.overrides(exp))
    at.selectbox(key="_preset_optimization").set_value("Adam instead of SGD").run()  # every other control to its default
    quick.assert_drew_a_chart(at)
    assert at.selectbox(key="optimizer").value == "adam"
    assert quick.page_config(at, exp) == dataclasses.replace(exp.config(), optimizer="adam", lr=0.001)


@pytest.mark.parametrize("name", NAMES)
def test_lecture_mode_asks_then_names_the_right_answer_and_why(name):
    """In lecture mode the page runs nothing before Reveal; after it the question, the right answer
    (one of the choices) and a sentence of why are on screen, above the live chart."""
    from streamlit.testing.v1 import AppTest

    exp = registry.get(name)
    at = AppTest.from_file(quick.APP, default_timeout=quick.PAGE_TIMEOUT).run()
    at.session_state["lecture"] = True  # the sidebar toggle (a link's ?lecture=true sets it in a browser)
    at.query_params = quick.overrides(exp)
    at.switch_page(exp.page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.get("vega_lite_chart")
    choices = at.radio(key=f"_guess_{exp.name}").options
    at.button(key=f"_reveal_btn_{exp.name}").click().run()
    quick.assert_drew_a_chart(at)
    answers = [s.value for s in at.success if s.value.startswith("**Answer: ")]
    assert len(answers) == 1, [s.value for s in at.success]
    right, _, because = answers[0].removeprefix("**Answer: ").partition(".** ")
    assert right in choices and len(because) > 20, answers[0]
