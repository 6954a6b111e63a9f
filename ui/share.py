"""A link that reproduces the exact chart: the page URL plus every non-default setting, and the
pinned run A when B is drawn over it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import streamlit as st

from core.contract import Param, to_text
from ui.compare import PIN_PARAM, encode_setting

#: Streamlit shows st.code's copy button only while the pointer is over the box, and a phone has
#: no pointer: in the Share box it is always shown.
SHARE_CSS = """
<style>
  .st-key-share_link [data-testid="stCode"] pre + div,
  .st-key-share_link [data-testid="stCode"] pre + div * { opacity: 1 !important; visibility: visible !important; }
</style>
"""


def link(fields: list[Param], config: Any, pinned: Any | None = None) -> str:
    """The page's URL with every setting that differs from its default (defaults stay implicit)
    and, when a run is pinned as A, A's own non-default settings in ``pin``."""
    query = {}
    for p in fields:
        value = getattr(config, p.name)
        if value != p.default:
            query[p.name] = to_text(value)
    if pinned is not None:
        query[PIN_PARAM] = encode_setting(fields, pinned)
    if st.session_state.get("lecture"):
        query["lecture"] = "true"
    base = st.context.url or ""
    return f"{base}?{urlencode(query)}" if query else base


def show(fields: list[Param], config: Any, pinned: Any | None = None) -> None:
    with st.expander("Share this exact chart"):
        what = "both runs, A and B" if pinned is not None else "these settings"
        st.caption(f"Copy this link (the button at the top right of the box): it opens the page with {what}.")
        st.html(SHARE_CSS)
        with st.container(key="share_link"):
            st.code(link(fields, config, pinned), language=None, wrap_lines=True)
