"""The Streamlit app, run headless with AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def scales_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    return at.switch_page("app_pages/scales.py").run()


def test_app_starts_and_lists_the_three_scales() -> None:
    at = scales_page()
    assert not at.exception
    options = at.sidebar.radio(key="scale_browser_choice").options
    assert [o.split(" — ")[0] for o in options] == [
        "Dartmouth Assertive Community Treatment Scale (DACTS)",
        "General Organizational Index (GOI)",
        "Integrated Dual Disorder Treatment (IDDT) Fidelity Scale",
    ]


def test_opening_a_scale_shows_its_items_and_anchors() -> None:
    at = scales_page()
    at.sidebar.radio(key="scale_browser_choice").set_value("iddt@1.0").run()
    assert not at.exception
    assert at.title[0].value == "Integrated Dual Disorder Treatment (IDDT) Fidelity Scale"
    labels = [e.label for e in at.expander]
    assert any(label.startswith("I1 Multidisciplinary team") for label in labels)
    assert sum(label.startswith("I") for label in labels) == 14
    anchor_tables = [df.value for df in at.dataframe if list(df.value.columns) == ["rating", "anchor"]]
    assert len(anchor_tables) == 14
    assert all(list(table["rating"]) == [1, 2, 3, 4, 5] for table in anchor_tables)
    assert all(table["anchor"].str.len().min() > 0 for table in anchor_tables)
