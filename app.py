"""Overparameterization Lab: entry point. Registers every page explicitly and draws the shared sidebar."""

import streamlit as st

from core.device import describe, pick_device, serve_threads
from ui.catalog import HOME, SWEEPS, phenomena
from ui.serving import warm_start

serve_threads()
warm_start()
st.set_page_config(page_title="Overparameterization Lab", page_icon=":material/hub:", layout="wide")

pages = [st.Page(HOME.page, title=HOME.title, url_path=HOME.name, icon=HOME.icon, default=True)]
pages += [st.Page(e.page, title=e.title, url_path=e.name, icon=e.icon) for e in phenomena()]
pages.append(st.Page(SWEEPS.page, title=SWEEPS.title, url_path=SWEEPS.name, icon=SWEEPS.icon))
page = st.navigation(pages)

with st.sidebar:
    st.toggle("Lecture mode", key="lecture", bind="query-params",
              help="Larger type, controls folded away, and the page asks its question before it draws the chart.")
    st.toggle("Force CPU", key="force_cpu", help="Run on the CPU even when a CUDA GPU is present.")
    st.caption(f"Device: **{describe(pick_device(st.session_state.force_cpu))}**")

page.run()
