"""Home page: the classical picture, and a card per phenomenon."""

from pathlib import Path

import altair as alt
import streamlit as st

from core.classical import classical_picture
from ui.catalog import phenomena
from ui.page import grid

THUMBS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "thumbs"

# "Overparameterization" is one word of 20 letters: at the usual title size a 390 px phone breaks it
# in the middle, so on a narrow screen the title is smaller.
st.html("<style>@media (max-width: 640px) { [data-testid='stMain'] h1 { font-size: 1.9rem; } }</style>")
st.title("Overparameterization Lab")
st.markdown(
    "Modern networks have far more parameters than training points, yet they train easily and "
    "generalise. Classical theory says they should not. Each page below trains real models, live, "
    "and draws the theory beside the simulation."
)

st.subheader("The classical picture, and what actually happens")
data = classical_picture()
data = data[data["error"] < 4]
chart = alt.Chart(data).mark_line().encode(
    x=alt.X("ratio:Q", title="parameters per training point, p/n", scale=alt.Scale(type="log")),
    y=alt.Y("error:Q", title="error / variance of y"),
    color=alt.Color("curve:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
    tooltip=["curve", alt.Tooltip("ratio:Q", format=".3g"), alt.Tooltip("error:Q", format=".3g")],
)
vacuous = alt.Chart(data.head(1)).mark_rule(strokeDash=[4, 4], color="grey").encode(y=alt.datum(1))
threshold = alt.Chart(data.head(1)).mark_rule(color="grey").encode(x=alt.datum(1))
st.altair_chart(alt.layer(chart, vacuous, threshold).properties(height=340), width="stretch")
st.caption(
    "A VC-style bound says test error is at most train error + sqrt(p/n): above the dashed line it "
    "promises nothing, and it only grows with p. The test error of the minimum-norm interpolant "
    "in the large-n limit (proportional asymptotics: n and p grow together at fixed p/n; Hastie et "
    "al. 2019; |beta|^2 = 1, noise variance 0.25) peaks at p = n (solid grey) and then falls again, "
    "bounded for every p/n; at finite n the Double descent page simulates it. The pages below show why."
)

# Cards three to a row, in menu order on a phone too (ui.page.grid).
for experiment, column in grid(phenomena(), 3):
    with column.container(border=True):
        thumb = THUMBS / f"{experiment.name}.png"
        if thumb.exists():
            st.image(str(thumb), width="stretch")
        st.page_link(experiment.page, label=experiment.title, icon=experiment.icon)
        st.caption(experiment.claim)
