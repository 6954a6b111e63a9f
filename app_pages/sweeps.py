"""Page: Sweeps. Opens a sweep's table (one the command line recorded in the result store, or an
uploaded file) and draws any metric against one swept setting or two."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.contract import ConfigError
from core.sweeps import figures
from core.sweeps.index import Recorded, SweepIndex
from core.sweeps.table import ERROR, FAILED, STATUS, experiment_of, read, settings
from ui import serving

#: Shown when there is nothing to draw yet (the browser test looks for it).
NO_SWEEP = "No sweep in the result store yet."
HOW = ("Run one from the command line, for example\n\n"
       "`python -m core sweep optimization --grid widths='10;50;200' --seeds 5 --out widths.csv`\n\n"
       "(add `--backend ray --address HOST:6379` for a cluster). Every point goes into the result store, "
       "so the pages then serve each swept setting at once, and the sweep appears here.")

st.title("Sweeps")
st.markdown("Hundreds of settings of one experiment, each run with the same validation and budget as its page: "
            "draw any measurement against one swept setting (the mean over seeds and its spread) or two (a heatmap).")


def stored_sweeps() -> list[Recorded]:
    store = serving.shared_store()
    return SweepIndex(store.directory).sweeps() if store is not None else []


def open_table() -> pd.DataFrame | None:
    """The stored sweep the reader picks, or the file they upload (which wins when given)."""
    sweeps = stored_sweeps()
    upload = st.file_uploader("Open a sweep table (.csv or .parquet, as `python -m core sweep --out` writes it)",
                              type=["csv", "parquet"])
    if upload is not None:
        try:
            return read(upload.getvalue(), upload.name)
        except (ConfigError, ValueError) as err:
            st.error(f"{upload.name}: {err}")
            return None
    if not sweeps:
        st.info(f"{NO_SWEEP} {HOW}")
        return None
    titles = [s.title() for s in sweeps]
    chosen = st.selectbox("Sweep in the result store", range(len(sweeps)), format_func=titles.__getitem__)
    return sweeps[chosen].table


def draw(table: pd.DataFrame) -> None:
    experiment = experiment_of(table)
    table = figures.comparable(table)
    keys, measured = figures.swept(table), figures.metrics(table)
    failed = table[table[STATUS] == FAILED]
    left_out = " (left out of the charts; listed below)" if len(failed) else ""
    st.caption(f"**{experiment.title}**: {len(table)} points, {len(failed)} failed{left_out}.")
    if not keys or not measured:
        lacking = "no setting but the seed varies" if not keys else "it holds no numeric measurement"
        st.info(f"Nothing to draw in this sweep: {lacking}. Its table is below.")
        st.dataframe(table, hide_index=True)
        return
    left, right = st.columns(2)
    metric = left.selectbox("Measurement", measured, format_func=experiment.label)
    x = right.selectbox("Against", keys, format_func=experiment.label)
    others = [k for k in keys if k != x]
    second = st.selectbox("Second setting: colour per value, or a heatmap", ["none", *others],
                          format_func=lambda k: "none" if k == "none" else experiment.label(k)) if others else "none"
    as_heatmap = second != "none" and st.toggle("Heatmap", value=True, help="off: one line per value of the second setting")
    drawn = [x, *([second] if second != "none" else [])]
    rows = table
    for key in (k for k in others if k not in drawn):  # a setting not drawn is held at one value
        value = st.selectbox(f"{experiment.label(key)} held at", sorted(table[key].unique()), key=f"hold_{key}")
        rows = rows[rows[key] == value]
    data = figures.summary(rows, metric, drawn)
    if data.empty:
        st.warning(f"No point of this selection has a value of {metric}.")
        return
    chart = (figures.heatmap(data, experiment, x, second, metric) if as_heatmap
             else figures.line(data, experiment, x, metric, None if second == "none" else second))
    st.altair_chart(chart, width="stretch")
    seeds = int(data[figures.SEEDS].max())
    st.caption(f"Each {'cell' if as_heatmap else 'point'}: the mean over up to {seeds} seed{'s' if seeds > 1 else ''}"
               + ("." if as_heatmap else "; the band runs from the lowest seed to the highest."))
    st.download_button(f"Download the data ({metric}.csv)", data.to_csv(index=False).encode(),
                       file_name=f"{experiment.name}-sweep-{metric}.csv", mime="text/csv")
    st.download_button("Download the whole sweep (sweep.csv)", table.to_csv(index=False).encode(),
                       file_name=f"{experiment.name}-sweep.csv", mime="text/csv")
    if len(failed):
        with st.expander(f"Failed points ({len(failed)})"):
            st.dataframe(failed[[*settings(table), ERROR]], hide_index=True)


table = open_table()
if table is not None:
    draw(table)
