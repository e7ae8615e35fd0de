"""A download's table is made when the button is clicked, not on every rerun."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import streamlit as st

from app_pages import widgets
from app_pages.views.compare import distribution_table


def test_a_table_given_as_a_function_is_made_only_when_the_download_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(st, "download_button", lambda label, **kwargs: seen.update(kwargs))
    made: list[int] = []

    def table() -> pd.DataFrame:
        made.append(1)
        return pd.DataFrame({"program": ["=HYPERLINK(1)"], "total": [3]})

    widgets.csv_download(table, "Download", "t.csv", key="t_csv")
    assert made == []  # drawing the button makes nothing
    text = seen["data"]().decode("utf-8-sig")
    assert made == [1] and "total" in text and "'=HYPERLINK(1)" in text  # formulas still made inert
    widgets.csv_download(pd.DataFrame({"a": [1]}), "Download", "a.csv", key="a_csv")
    assert seen["data"]().decode("utf-8-sig").splitlines()[0] == "a"  # a table itself, as before


def test_the_band_distribution_download_names_no_band_and_rounds_the_shares() -> None:
    frame = pd.DataFrame({"band": ["High", None], "programs": [2, 1], "share": [2 / 3, 1 / 3]})
    table = distribution_table(frame)
    assert list(table["band"]) == ["High", "no band"] and list(table["share"]) == [0.667, 0.333]
    assert frame["band"].isna().any()  # the cached frame the page draws from is not changed
