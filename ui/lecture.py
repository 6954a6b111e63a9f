"""Lecture mode: larger type, controls folded away, and predict-then-reveal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

LECTURE_CSS = """
<style>
  [data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.3rem; line-height: 1.55; }
  [data-testid="stMain"] h1 { font-size: 3.2rem; }
  [data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.6rem; }
</style>
"""


def enabled() -> bool:
    return bool(st.session_state.get("lecture", False))


def apply_style() -> None:
    st.html(LECTURE_CSS)


def revealed(name: str, config: Any, question: str, answers: Sequence[str] | None) -> bool:
    """Ask the page's question first; True once the audience has clicked Reveal for this setting."""
    key = f"_revealed_{name}"
    if st.session_state.get(key) == config:
        guess = st.session_state.get(f"_guess_{name}")
        if guess:
            st.info(f"Your prediction: **{guess}**")
        return True
    with st.container(border=True):
        st.markdown(f"### Predict first\n{question}")
        if answers:
            st.radio("Your prediction", list(answers), index=None, key=f"_guess_{name}")
        if st.button("Reveal", key=f"_reveal_btn_{name}", type="primary"):
            st.session_state[key] = config
            st.rerun()
    return False
