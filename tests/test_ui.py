"""The Streamlit adapter's own logic, without a server: chart panels that fit a phone, lecture-size
chart text, the comparison table in words, the pinned run in the link, lecture mode's answer, and
lecture mode in a page (Streamlit's AppTest)."""

from __future__ import annotations

import dataclasses

import altair as alt
import pandas as pd
import pytest

from core import contract, registry
from core.contract import Result
from tests import quick
from ui import compare, lecture, panels
from ui.page import CUSTOM


def _two_panels() -> dict:
    data = pd.DataFrame({"x": [1, 2], "y": [3, 4], "g": ["a", "b"]})
    other = pd.DataFrame({"u": [5, 6]})
    left = alt.Chart(data).mark_line().encode(
        x="x", y="y", color=alt.Color("g", legend=alt.Legend(orient="bottom"))).properties(width=300, height=260)
    right = alt.Chart(other).mark_bar().encode(x="u").properties(width=300, height=200)
    return alt.hconcat(left, right).to_dict()


def test_two_panels_become_one_row_of_charts_that_take_their_column_width():
    spec = _two_panels()
    rows = panels.rows(spec)
    assert len(rows) == 1 and len(rows[0]) == 2
    left, right = rows[0]
    assert "width" not in left and "width" not in right  # the column decides
    assert (left["height"], right["height"]) == (260, 200)
    assert left["$schema"] == spec["$schema"]
    assert len(left["datasets"]) == len(right["datasets"]) == 1 and left["datasets"] != right["datasets"]
    assert set(left["datasets"]) | set(right["datasets"]) == set(spec["datasets"])
    assert left["encoding"]["color"]["legend"]["columns"] == panels.LEGEND_COLUMNS  # a bottom legend wraps


def test_stacked_rows_are_cut_again_and_a_lone_panel_keeps_its_width():
    data = pd.DataFrame({"x": [1, 2]})
    a = alt.Chart(data).mark_point().encode(x="x").properties(width=440, height=440)
    spec = alt.vconcat(alt.hconcat(a), alt.hconcat(a, a)).to_dict()
    rows = panels.rows(spec)
    assert [len(r) for r in rows] == [1, 2]
    assert panels.width_of(rows[0][0]) == 440
    assert "width" not in panels.stretchable(rows[0][0])


def test_lecture_charts_have_larger_text_and_height_without_touching_the_cached_spec():
    panel = panels.rows(_two_panels())[0][0]
    before = dict(panel["config"])
    big = panels.enlarged(panel)
    assert big["config"]["axis"]["labelFontSize"] >= 16 and big["config"]["legend"]["labelFontSize"] >= 16
    assert big["height"] > panel["height"]
    assert panel["config"] == before and "axis" not in panel["config"]


def test_comparison_table_names_metrics_in_words_and_formats_numbers():
    exp = registry.get("optimization")
    a = Result({"flops": 701000000.0, "wall_s": 1.23456, "params": 3651, "device": "cpu"}, {})
    b = Result({"flops": 2.9e8, "wall_s": 0.5, "params": 6201, "device": "cpu"}, {})
    table = compare.metrics_table(exp, a, b)
    assert list(table["quantity"]) == [exp.label(k) for k in ("flops", "wall_s", "params", "device")]
    assert not {"flops", "wall_s", "params"} & set(table["quantity"])
    assert list(table[compare.PINNED]) == ["7.01e8", "1.235", "3,651", "cpu"]


@pytest.mark.parametrize("value,text", [(701000000.0, "7.01e8"), (2.5e-5, "2.5e-5"), (3.0, "3"), (0.123456, "0.1235"),
                                        (float("nan"), "—"), (1234567, "1,234,567"), ("ok", "ok")])
def test_numbers_are_written_as_a_reader_writes_them(value, text):
    assert compare.number(value) == text


def test_a_pinned_setting_round_trips_through_the_link():
    exp = registry.get("optimization")
    fields = contract.params(exp.config)
    config = dataclasses.replace(exp.config(), widths=(10, 50), depth=3, lr=0.03)
    assert compare.encode_setting(fields, exp.config()) == ""
    assert compare.decode_setting(exp, compare.encode_setting(fields, config)) == config
    with pytest.raises(contract.ConfigError, match="depth"):
        compare.decode_setting(exp, "depth=99")
    assert compare.PIN_PARAM not in {p.name for e in registry.experiments() for p in contract.params(e.config)}


def test_overlay_legend_names_both_runs():
    data = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    chart = alt.Chart(data).mark_line().encode(x="x", y="y")
    spec = compare.overlay(chart, chart).to_dict()
    key = spec["layer"][-1]["encoding"]
    assert key["strokeDash"]["scale"]["domain"] == [compare.PINNED, compare.CURRENT]
    assert key["opacity"]["scale"]["range"] == [compare.FADED_OPACITY, 1.0]


def test_an_answer_must_be_one_of_the_choices():
    with pytest.raises(ValueError, match="not an index"):
        lecture.Quiz("q?", ("yes", "no"), answer=2)


def _quiz_page() -> None:
    """A page with a lecture question, a slider standing for the controls and a text for the chart."""
    import streamlit as st

    from ui import lecture

    value = st.slider("x", 0, 10, 3, key="x")
    quiz = lecture.Quiz("Will it go up?", ("Up", "Down"), answer=1, because="Because gravity.")
    if lecture.revealed("demo", quiz):
        st.text(f"chart at x = {value}")


def test_after_reveal_the_question_guess_and_answer_stay_and_controls_redraw_at_once():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_quiz_page).run()
    assert not at.text and at.button(key="_reveal_btn_demo")
    at.radio(key="_guess_demo").set_value("Up").run()
    at.button(key="_reveal_btn_demo").click().run()
    shown = " ".join(m.value for m in at.markdown)
    assert "Will it go up?" in shown and "Your prediction: **Up** — not quite." in shown
    assert [s.value for s in at.success] == ["**Answer: Down.** Because gravity."]
    assert [t.value for t in at.text] == ["chart at x = 3"]
    at.slider(key="x").set_value(7).run()  # live: no new Reveal, the outcome stays
    assert [t.value for t in at.text] == ["chart at x = 7"] and not [b for b in at.button if b.key == "_reveal_btn_demo"]
    assert [s.value for s in at.success] == ["**Answer: Down.** Because gravity."]
    at.button(key="_ask_again_demo").click().run()
    assert not at.text and at.button(key="_reveal_btn_demo")


@pytest.fixture(scope="module")
def _one_thread(one_thread):
    """Page runs: one thread each (see conftest.one_thread)."""


def test_preset_box_follows_the_controls(_one_thread):
    exp = registry.get("optimization")
    at = quick.open_page(exp, quick.overrides(exp))
    box = at.selectbox(key="_preset_optimization")
    assert box.value == CUSTOM  # the cheap setting is no preset
    box.set_value("Adam instead of SGD").run()
    assert at.selectbox(key="_preset_optimization").value == "Adam instead of SGD"
    at.selectbox(key="optimizer").set_value("sgd").run()
    assert at.selectbox(key="_preset_optimization").value == CUSTOM


def test_a_link_with_a_pin_opens_the_comparison_and_shares_it_again(_one_thread):
    exp = registry.get("optimization")
    fields = contract.params(exp.config)
    b = quick.cheap(exp)
    a = dataclasses.replace(b, depth=1)
    at = quick.open_page(exp, {**quick.overrides(exp), compare.PIN_PARAM: compare.encode_setting(fields, a)})
    quick.assert_drew_a_chart(at)
    assert any(i.value.startswith("Comparing") for i in at.info), [i.value for i in at.info]
    table = at.dataframe[0].value
    assert list(table.columns) == ["quantity", compare.PINNED, compare.CURRENT]
    assert compare.decode_setting(exp, quick.share_query(at)[compare.PIN_PARAM][0]) == a
