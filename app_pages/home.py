"""Home page: the classical picture, and a card per phenomenon."""

import streamlit as st

from ui.catalog import PHENOMENA

st.title("Overparameterization Lab")
st.markdown(
    "Modern networks have far more parameters than training points, yet they train easily and "
    "generalise. Classical theory says they should not. Each page below trains real models, live, "
    "and draws the theory beside the simulation."
)
for spec in PHENOMENA:
    with st.container(border=True):
        st.page_link(spec.path, label=spec.title, icon=spec.icon)
        st.caption(spec.claim)
