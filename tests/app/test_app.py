"""The Streamlit app, run headless with AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def scales_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    return at.switch_page("app_pages/scales.py").run()


def test_app_starts_and_lists_every_bundled_scale() -> None:
    at = scales_page()
    assert not at.exception
    options = at.sidebar.radio(key="scale_browser_choice").options
    assert [o.split(" — ")[0] for o in options] == [
        "Dartmouth Assertive Community Treatment Scale (DACTS)",
        "DACTS with Georgia's required totals",
        "DACTS with Maine's item minimums",
        "DACTS as modified in Oregon (S10 replaced by TMACT ST8)",
        "Family Psychoeducation (FPE) Fidelity Scale",
        "General Organizational Index (GOI)",
        "Integrated Dual Disorder Treatment (IDDT) Fidelity Scale",
        "Illness Management and Recovery (IMR) Fidelity Scale",
        "Permanent Supportive Housing (PSH) Fidelity Scale",
        "Supported Employment Fidelity Scale (SE, 15 items)",
    ]


def test_a_state_variant_shows_its_base_requirements_and_unverified_items() -> None:
    at = scales_page()
    at.sidebar.radio(key="scale_browser_choice").set_value("dacts-oregon@1.0").run()
    assert not at.exception
    page = " ".join(m.value for m in at.markdown)
    assert "**Derived from** dacts@1.0" in page
    assert "sum at least 114 (OAR 309-019-0240)" in page
    assert "an action plan for every item rated 2 or lower, within 90 days" in page
    assert any("Not verified against a published source: ST8." in w.value for w in at.warning)
    assert any(c.value.startswith("Provenance: unverified — OCEACT memo") for c in at.caption)


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
