"""The page pattern every phenomenon follows: intro and a question, controls bound to the URL,
a cached run with live progress, the cost row, charts with their data as CSV, and "Why?"."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import contract, rendering
from core.contract import ConfigError, Experiment, Result
from core.device import pick_device
from core.queue import Superseded
from core.rendering import Rendered
from ui import compare, lecture, live, panels, serving, share, widgets

T = TypeVar("T")

#: Controls side by side on a wide screen.
CONTROLS_PER_ROW = 3

def device_name() -> str:
    """The device this session runs on: CUDA when present unless the sidebar forces the CPU."""
    return pick_device(bool(st.session_state.get("force_cpu", False))).type


#: Shown under the cost row when a session that did not force the CPU gets it anyway.
NO_CUDA_NOTICE = "Running on the CPU: this server has no CUDA GPU."


def render(
    experiment: Experiment,
    *,
    intro: str,
    question: str,
    why: str,
    answers: Sequence[str] | None = None,
    answer: int | None = None,
    because: str | None = None,
    after_charts: Callable[[Result], None] | None = None,
) -> Result | None:
    """Draw one experiment page; returns the Result (or None when nothing was run).

    ``answers`` are the choices lecture mode offers for ``question`` before it reveals the chart;
    ``answer`` is the index of the one the run shows, and ``because`` one sentence of why: after
    Reveal both stay on screen beside the audience's guess. ``after_charts(result)`` draws what a
    page adds to its run (results in words, a checklist) after the charts and before Share and Why?.
    """
    in_lecture = lecture.enabled()
    if in_lecture:
        lecture.apply_style()
    quiz = lecture.Quiz(question, tuple(answers or ()), answer, because)
    st.title(experiment.title)
    st.markdown(intro if in_lecture else f"{intro}\n\n**Predict first:** {question}")
    fields = contract.params(experiment.config)
    for notice in _once_per_page(experiment.name, lambda: widgets.correct_url(fields) + widgets.correct_rules(experiment)):
        st.info(f"Link corrected: {notice}")
    picker = st.container()
    raw = _controls(fields, expanded=not in_lecture and not on_a_phone())
    config, problems = widgets.read_config(experiment.config, fields, raw)
    if experiment.presets:
        with picker:
            _preset_picker(experiment, fields, config)
    for problem in problems:
        st.warning(problem)
    try:
        experiment.check(config)
    except ConfigError as err:
        st.error(str(err))
        return None
    if in_lecture and not lecture.revealed(experiment.name, quiz):
        return None
    notice = compare.pin_from_link(experiment, lambda pinned: _run(experiment, pinned, _key(experiment, pinned)).result)
    if notice:
        st.info(f"Link corrected: {notice}")
    key = _key(experiment, config)
    run = _run(experiment, config, key)
    result = run.result
    _cost_row(result, run.cached)
    if run.provenance:
        st.caption(f"Served from the result store ({run.provenance}).")
    if key[2] == "cpu" and not st.session_state.get("force_cpu", False):
        st.caption(NO_CUDA_NOTICE)
    if not result.status.ok:
        st.warning(f"Note: {result.status}")
    pinned = compare.pin_controls(experiment, fields, config, result)
    if pinned is None:
        _figures(experiment, key, result, run.rendered)
    else:
        _compared(experiment, pinned[1], result)
    if after_charts is not None:
        after_charts(result)
    share.show(fields, config, compare.pinned_config(experiment.name))
    with st.expander("Why?", expanded=False):
        st.markdown(why)
    return result


def _key(experiment: Experiment, config: Any) -> tuple:
    """The result cache's key for a setting on this session's device."""
    return (experiment.name, config, device_name())


def on_a_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent's "Mobi", as browsers recommend
    detecting one): there the controls start folded, so the first chart is within two screens."""
    agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    return "Mobi" in agent


def _once_per_page(name: str, compute: Any) -> list[str]:
    flag = f"_url_checked_{name}"
    if st.session_state.get(flag):
        return []
    st.session_state[flag] = True
    return compute()


#: What the preset box shows when the controls match none of the presets.
CUSTOM = "(custom)"


def _preset_picker(experiment: Experiment, fields: list[contract.Param], config: Any) -> None:
    """The preset box, naming the preset the current setting matches, else "(custom)".

    Drawn after the controls have been read (into a slot above them), so the name follows the
    controls: moving one away from a preset shows "(custom)" at once."""
    key = f"_preset_{experiment.name}"

    def apply() -> None:
        chosen = experiment.presets.get(st.session_state[key])
        if chosen is None:  # "(custom)" keeps the controls as they are
            return
        for p in fields:
            st.session_state[p.name] = widgets.widget_value(p, chosen.get(p.name, p.default))

    st.session_state[key] = matching_preset(experiment, config)
    st.selectbox("Preset", [CUSTOM, *experiment.presets], key=key, on_change=apply,
                 help="Named settings that make the point; choosing one sets every control and the link.")


def matching_preset(experiment: Experiment, config: Any) -> str:
    """The first preset whose setting is ``config``, else CUSTOM."""
    for name, values in experiment.presets.items():
        if contract.make_config(experiment.config, values) == config:
            return name
    return CUSTOM


def _controls(fields: list[contract.Param], expanded: bool) -> dict[str, Any]:
    """The controls in their declared order, three to a row: on a phone Streamlit stacks each
    row's columns, so the order there is the same as on a wide screen."""
    raw = {}
    main = [p for p in fields if p.name != "seed"]
    with st.expander("Controls", expanded=expanded):
        for p, column in grid(main, CONTROLS_PER_ROW):
            raw[p.name] = widgets.control(p, column)
    for p in fields:
        if p.name == "seed":
            raw[p.name] = widgets.control(p, st.sidebar)
    return raw


def grid(items: Sequence[T], per_row: int) -> Iterator[tuple[T, Any]]:
    """Each item with its column, ``per_row`` columns to a row, row by row. A phone stacks each
    row's columns, so items keep their order there; columns filled item i into column i % n
    would read 1, 4, 7, 2, ... on a phone."""
    for start in range(0, len(items), per_row):
        yield from zip(items[start:start + per_row], st.columns(per_row))


class Run(NamedTuple):
    """A page's result and how it was served."""

    result: Result
    #: Whether it came from this server's memory.
    cached: bool
    #: Where a stored result was computed ("" when it was not read from the store).
    provenance: str
    #: Its charts, when they came with it from the store or its computation (empty from memory).
    rendered: tuple[Rendered, ...]


def _run(experiment: Experiment, config: Any, key: tuple) -> Run:
    """The Result for ``key``: from memory, else from the store on disk, else computed in this
    session's turn of the compute queue (and then stored)."""
    device = key[2]
    bar = st.empty()
    partial = st.empty()
    pacer = live.Pacer()
    served: list[tuple[str, tuple[Rendered, ...]]] = [("", ())]

    def progress(fraction: float, message: str = "", tables: Mapping[str, pd.DataFrame] | None = None) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"Training… {message}")
        if tables:
            pacer.offer(fraction, lambda: _draw_partial(experiment, tables, partial))

    def wait() -> None:
        bar.progress(0.0, text="Another visitor is computing this same setting; waiting for it…")

    def queued(ahead: int, eta: float) -> None:
        runs = "1 run" if ahead == 1 else f"{ahead} runs"
        bar.progress(0.0, text=f"{runs} ahead of yours, about {max(eta, 1):.0f} s…")

    def compute() -> Result:
        result, *served[0] = serving.compute(experiment, config, device, _session_id(), progress, queued)
        return result

    try:
        result, cached = serving.shared_cache().get_or_compute(key, compute, wait)
    except Superseded:  # this session asked for something newer while this request waited
        st.stop()
    bar.empty()
    partial.empty()
    return Run(result, cached, *served[0])


def _draw_partial(experiment: Experiment, tables: Mapping[str, pd.DataFrame], place: Any) -> None:
    """The first figure of a run's partial tables, in ``place``."""
    figures = experiment.charts(Result({}, dict(tables)))
    if figures:
        with place.container():
            draw(figures[0].chart.to_dict(validate=False))  # the tests validate every figure (tests/test_common.py)


def _session_id() -> str:
    """This browser session, so its newer request replaces its older waiting one."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _cost_row(result: Result, cached: bool) -> None:
    """The five costs in one wrapping row: side by side on a wide screen, two or three to a line
    on a phone instead of five full-width rows above the first chart."""
    m = result.metrics
    device = str(m.get("device", ""))
    with st.container(horizontal=True, gap="medium"):
        st.metric("Parameters", f"{m.get('params', 0):,}", width="content")
        st.metric("p / n", _short(m.get("p_over_n", 0)), width="content")
        st.metric("Training FLOPs", f"{m.get('flops', 0):.2g}", width="content")
        st.metric("Wall time", f"{m.get('wall_s', 0):.2f} s", width="content",
                  help="served from the cache this time" if cached else None)
        st.metric("Device", device.split(" ")[0], help=device, width="content")


def _short(x: float) -> str:
    """A number in at most ~6 characters, so the metric never truncates."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2g}"


@st.cache_resource(max_entries=64, show_spinner=False)
def _rendered(key: tuple, _experiment: Experiment, _result: Result, _ready: tuple[Rendered, ...]) -> tuple[Rendered, ...]:
    """The figures of a Result, rendered once per setting and server: ``_ready`` when its
    rendering came with it from the store or its computation, else rendered here.

    Rendering costs 20-160 ms a page; a revisit would otherwise spend that on every rerun. ``key``
    is the result cache's key; the Result itself is deterministic in it.
    """
    return _ready or rendering.render(_experiment, _result)


def _figures(experiment: Experiment, key: tuple, result: Result, ready: tuple[Rendered, ...]) -> None:
    for index, figure in enumerate(_rendered(key, experiment, result, ready)):
        _figure(experiment, index, figure)


def _compared(experiment: Experiment, pinned: Result, current: Result) -> None:
    st.info(f"Comparing **{compare.PINNED}** (faded, dashed) with **{compare.CURRENT}** (solid).")
    st.dataframe(compare.metrics_table(experiment, pinned, current), hide_index=True)
    for index, (figure, chart) in enumerate(compare.compared_figures(experiment, pinned, current)):
        both = pd.concat([pinned.tables[figure.table].assign(run=compare.PINNED),
                          current.tables[figure.table].assign(run=compare.CURRENT)], ignore_index=True)
        _figure(experiment, index, Rendered(figure.title, figure.caption, figure.table, chart.to_dict(),
                                            both.to_csv(index=False).encode()))


#: Each figure's block (title, panels, caption, download) carries this key prefix, so a test can
#: tell figures apart now that one figure may be several charts.
FIGURE_KEY = "figure"


def _figure(experiment: Experiment, index: int, figure: Rendered) -> None:
    with st.container(key=f"{FIGURE_KEY}_{experiment.module}_{index}"):
        st.subheader(figure.title)
        draw(figure.spec)
        if figure.caption:
            st.caption(figure.caption)
        st.download_button(
            f"Download the data ({figure.table}.csv)",
            figure.csv,
            file_name=f"{experiment.name}-{figure.table}.csv",
            mime="text/csv",
            key=f"csv_{experiment.name}_{index}_{figure.table}",
        )


def draw(spec: dict) -> None:
    """A chart as panels that fit the screen (ui.panels): the panels of a row in columns, which
    Streamlit stacks on a phone; a panel alone at its own width, or the screen's when narrower.
    Drawn with Streamlit's chart theme, so text follows the light or dark theme; larger in a lecture."""
    big = lecture.enabled()
    for row in panels.rows(spec):
        if len(row) == 1:
            width = panels.width_of(row[0])
            place = st.container(width=width) if width else st.container()
        else:
            place = st.columns(len(row), gap="medium")
        for panel, slot in zip(row, place if isinstance(place, list) else [place]):
            panel = panels.stretchable(panel)
            slot.vega_lite_chart(panels.enlarged(panel) if big else panel, width="stretch", theme="streamlit")
