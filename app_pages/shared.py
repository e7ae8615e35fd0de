"""What every page shares: the scale registry, loaded once per process."""

from __future__ import annotations

import streamlit as st

from scales import ScaleRegistry
from services.settings import get_registry


@st.cache_resource(show_spinner=False)
def scale_registry() -> ScaleRegistry:
    return get_registry()
