"""Agreement between raters: the agency's view (Analytics → Agreement) and the compact box the
Consensus page shows for one review.

The figures a methods section cites: exact agreement, agreement within one point, and Cohen's
weighted kappa with its weights stated (linear: a two-point difference counts twice a
one-point one). Where kappa is undefined the page says why; it never prints "nan".
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, database, identity_banner
from app_pages.widgets import show_error
from services.agreement import AgencyAgreement, agency_agreement, review_rater_agreement
from services.database import Database
from services.errors import FidelityError

LOWEST = 10  # items listed in the agency's table of lowest agreement
KAPPA_NOTE = (
    "Weighted kappa is Cohen's weighted kappa with linear weights (scikit-learn's "
    "`cohen_kappa_score`), over the items both raters rated: 1 is perfect agreement, 0 no "
    "better than chance."
)


def review_agreement_box(db: Database, review_id: int) -> None:
    """One review's agreement between its two raters, in a line: exact, within one, weighted kappa."""
    try:
        result = review_rater_agreement(db, review_id, actor=actor())
    except FidelityError:  # the raters' ratings are not open to this person (yet)
        return
    if result is None:
        return
    with st.container(border=True, key="agreement-box"):
        # The raters' names are text, never markup (md escapes them).
        st.markdown(
            f"**Agreement between {md(result.rater_a)} and {md(result.rater_b)}:** {result.summary()}"
        )
        if result.kappa_quadratic.value is not None:
            st.caption(f"Quadratic-weighted kappa {result.kappa_quadratic.value:.2f}. {KAPPA_NOTE}")
        else:
            st.caption(KAPPA_NOTE)


def percent(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = out[column].map(lambda v: f"{v:.0f}%")
    return out


def items_table(data: AgencyAgreement, names: dict[str, str]) -> None:
    st.subheader("Items raters disagree on most")
    items = data.items.head(LOWEST).copy()
    items.insert(2, "name", items["item_id"].map(names))
    items["mean_gap"] = items["mean_gap"].map(lambda v: f"{v:.2f}")
    shown = percent(items, "exact_pct", "within_one_pct").drop(columns="scale_id")
    shown.columns = ["Item", "Name", "Reviews", "Exact agreement", "Within one", "Mean difference"]
    st.dataframe(shown, hide_index=True, width="stretch", key="agreement-items")
    if not data.items_by_year.empty:
        st.caption("Exact agreement on these items, by year of review:")
        by_year = data.items_by_year.head(5).map(lambda v: "–" if pd.isna(v) else f"{v:.0f}%")
        by_year.columns = [str(c) for c in by_year.columns]
        st.dataframe(by_year.reset_index().rename(columns={"item_id": "Item"}), hide_index=True)


def pairs_table(data: AgencyAgreement) -> None:
    st.subheader("Rater pairs")
    pairs = percent(data.pairs, "exact_pct", "within_one_pct").drop(columns="kappa")
    pairs.columns = ["Rater", "Rater ", "Reviews", "Items", "Exact agreement", "Within one", "Weighted kappa"]
    st.dataframe(pairs, hide_index=True, width="stretch", key="agreement-pairs")
    st.caption(KAPPA_NOTE)


def raters_table(data: AgencyAgreement) -> None:
    st.subheader("Each rater against the consensus, by year")
    raters = percent(data.raters, "exact_pct")
    raters["mean_difference"] = raters["mean_difference"].map(lambda v: f"{v:+.2f}")
    raters.columns = ["Rater", "Year", "Items", "Same as consensus", "Rater minus consensus"]
    st.dataframe(raters, hide_index=True, width="stretch", key="agreement-raters")
    st.caption(
        "Rater minus consensus is the mean of the rater's rating less the consensus rating: "
        "above 0 the rater rates more leniently than the team agreed, below 0 more strictly; a "
        "value moving away from 0 over the years is a rater drifting from the consensus."
    )


def render() -> None:
    identity_banner()
    st.title("Agreement between raters")
    db = database()
    scales = {s.id: s for s in db.registry.all()}  # the newest version of each scale last wins
    ids = list(scales)
    chosen = st.segmented_control(
        "Scale", ids, format_func=lambda i: scales[i].title, default=ids[0], key="agreement-scale"
    )
    scale_id = chosen or ids[0]
    try:
        data = agency_agreement(db, scale_id, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    if data.reviews == 0:
        st.info(
            "No final review on this scale has both raters' own ratings yet (imported reviews "
            "carry only the consensus). Agreement appears here once reviews rated in the app are final."
        )
        return
    st.markdown(f"From **{data.reviews}** final reviews in which both raters rated in the app.")
    items_table(data, {item.id: item.name for item in scales[scale_id].items})
    pairs_table(data)
    raters_table(data)
