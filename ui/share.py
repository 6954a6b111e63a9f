"""A link that reproduces the exact chart: the page URL plus every non-default setting."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import streamlit as st

from core.contract import Param, to_text


def link(fields: list[Param], config: Any) -> str:
    """The page's URL with every setting that differs from its default (defaults stay implicit)."""
    query = {}
    for p in fields:
        value = getattr(config, p.name)
        if value != p.default:
            query[p.name] = to_text(value)
    if st.session_state.get("lecture"):
        query["lecture"] = "true"
    base = st.context.url or ""
    return f"{base}?{urlencode(query)}" if query else base


def show(fields: list[Param], config: Any) -> None:
    with st.expander("Share this exact chart"):
        st.caption("Copy this link (button at the right of the box): it opens the page with these settings.")
        st.code(link(fields, config), language=None)
