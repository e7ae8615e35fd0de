"""The items Drift and Compare match across scale versions although their ids differ (an
item that replaces another: a state variant's replacement, an item renamed in a new version),
shown as a small table under a caption (scales.mapping)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scales import Scale, ScaleRegistry
from scales.mapping import item_links


def show_item_links(scales: list[Scale], registry: ScaleRegistry) -> None:
    """A caption and a table of the mapped items of `scales` (nothing when there are none)."""
    rows = []
    for scale in {s.key: s for s in scales}.values():  # each version once
        for link in item_links(scale, registry):
            rows.append(
                {
                    "item": f"{link.item_id} {link.item_name}",
                    "in": scale.key,
                    "maps to": f"{link.other_item_id} {link.other_item_name}",
                    "of": link.other_scale,
                }
            )
    if not rows:
        return
    st.caption(
        "Mapped items: these items replace an item of another scale version and are compared "
        "with it as one item (their ids differ)."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
