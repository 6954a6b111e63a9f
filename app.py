"""Overparameterization Lab: entry point. Registers every page explicitly and draws the shared sidebar."""

import streamlit as st

from core.device import describe, pick_device, serve_threads
from ui.catalog import HOME, SWEEPS, phenomena
from ui.serving import warm_start

serve_threads()
warm_start()
st.set_page_config(page_title="Overparameterization Lab", page_icon=":material/hub:", layout="wide")

# The default page is served at / whatever its url_path (which must still be unique); /home, the
# overview's name, is a hidden alias that goes there, where it used to open "Page not found".
home = st.Page(HOME.page, title=HOME.title, url_path="overview", icon=HOME.icon, default=True)


def _home_alias() -> None:
    st.switch_page(home)


pages = [home, st.Page(_home_alias, title=HOME.title, url_path=HOME.name, visibility="hidden")]
pages += [st.Page(e.page, title=e.title, url_path=e.name, icon=e.icon) for e in phenomena()]
pages.append(st.Page(SWEEPS.page, title=SWEEPS.title, url_path=SWEEPS.name, icon=SWEEPS.icon))
page = st.navigation(pages)

with st.sidebar:
    st.toggle("Lecture mode", key="lecture", bind="query-params",
              help="Larger type, controls folded away, and the page asks its question before it draws the chart.")
    st.toggle("Force CPU", key="force_cpu", help="Run on the CPU even when a CUDA GPU is present.")
    st.caption(f"Device: **{describe(pick_device(st.session_state.force_cpu))}**")

page.run()
