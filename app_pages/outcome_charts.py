"""Altair charts of fidelity beside outcomes (the Outcomes page). Pure: frames in, a chart out.

Colours as app_pages/charts.py: Okabe-Ito, the total in near-black, every colour doubled by a
label, a shape or a dash so the charts read in black and white too.
"""

from __future__ import annotations

from typing import Final

import altair as alt
import pandas as pd

from app_pages.charts import OKABE_ITO, TOTAL_COLOR, WIDTH

YEARS: Final = alt.Axis(format="%Y", labelAngle=0, tickCount={"interval": "year", "step": 1})
OUTCOME_COLOR: Final = OKABE_ITO[5]  # vermillion: the outcome, against the fidelity's black and blues


def _title(title: str, subtitle: str | list[str] = "") -> alt.TitleParams:
    return alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start", fontSize=15)


def program_chart(
    fidelity: pd.DataFrame, outcome: pd.DataFrame, *, program: str, total_title: str, outcome_title: str
) -> alt.TopLevelMixin:
    """Two aligned panels over one time axis: the fidelity total and subscale means at each
    review (top), the outcome per period (bottom; a quarter drawn across its three months).

    `fidelity`: review_date, measure ("Total" or a subscale id), measure_name, value.
    `outcome`: period, period_start, period_end, value, per_month."""
    fid = fidelity.copy()
    fid["review_date"] = pd.to_datetime(fid["review_date"])
    fid["label"] = [
        total_title if m == "Total" else f"{m} · {n}"
        for m, n in zip(fid["measure"], fid["measure_name"], strict=True)
    ]
    starts = [d for d in (fid["review_date"].min(), outcome["period_start"].min()) if pd.notna(d)]
    ends = [d for d in (fid["review_date"].max(), outcome["period_end"].max()) if pd.notna(d)]
    domain = [min(starts).isoformat(), max(ends).isoformat()] if starts else alt.Undefined
    x = alt.X("review_date:T", title=None, scale=alt.Scale(domain=domain), axis=YEARS)
    totals = fid[fid["measure"] == "Total"]
    subs = fid[fid["measure"] != "Total"]
    apart = not subs.empty and _sum_total(totals)  # a sum total gets its own axis, left
    shared = f"Fidelity: {total_title.lower()} and subscale means"
    layers: list[alt.Chart] = []
    if not subs.empty:
        layers.append(
            alt.Chart(subs)
            .mark_line(point=alt.OverlayMarkDef(size=30), strokeWidth=1.2, opacity=0.8)
            .encode(
                x=x,
                y=alt.Y("value:Q", title="Subscale means" if apart else shared),
                color=alt.Color(
                    "label:N", title="Subscale means", scale=alt.Scale(range=list(OKABE_ITO[:4]))
                ),
                strokeDash=alt.StrokeDash("label:N", title="Subscale means"),
                tooltip=[
                    alt.Tooltip("review_date:T", title="Review", format="%Y-%m-%d"),
                    alt.Tooltip("label:N", title="Measure"),
                    alt.Tooltip("value:Q", format=".2f"),
                ],
            )
        )
    layers.append(
        alt.Chart(totals)
        .mark_line(color=TOTAL_COLOR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=TOTAL_COLOR, size=60))
        .encode(
            x=x,
            y=alt.Y("value:Q", title=total_title if apart else shared),
            tooltip=[
                alt.Tooltip("review_date:T", title="Review", format="%Y-%m-%d"),
                alt.Tooltip("value:Q", title=total_title, format=".2f"),
            ],
        )
    )
    top = alt.layer(*layers).resolve_scale(y="independent" if apart else "shared")
    top = top.properties(width=WIDTH, height=220, title=_title(f"{program}: fidelity and {outcome_title}"))
    out = outcome.copy()
    bottom = (
        alt.Chart(out)
        .mark_bar(color=OUTCOME_COLOR, opacity=0.75)
        .encode(
            x=alt.X("period_start:T", title="Date", scale=alt.Scale(domain=domain), axis=YEARS),
            x2="period_end:T",
            y=alt.Y("value:Q", title=outcome_title),
            y2=alt.datum(0),
            tooltip=[alt.Tooltip("period:N", title="Period"), alt.Tooltip("value:Q", title=outcome_title)],
        )
        .properties(width=WIDTH, height=160)
    )
    return alt.vconcat(top, bottom, spacing=8).resolve_scale(x="shared")


def _sum_total(totals: pd.DataFrame) -> bool:
    return bool(len(totals)) and float(totals["value"].max()) > 5


def outcome_scatter(
    points: pd.DataFrame, *, total_title: str, outcome_title: str, title: str, subtitle: list[str]
) -> alt.TopLevelMixin:
    """One point per program: its latest fidelity total (x) against the outcome after it (y), named."""
    data = points.assign(review_date=points["review_date"].astype(str))
    base = alt.Chart(data).encode(
        x=alt.X("total:Q", title=total_title, scale=alt.Scale(zero=False, padding=20)),
        y=alt.Y("outcome:Q", title=outcome_title, scale=alt.Scale(zero=False, padding=20)),
    )
    dots = base.mark_point(filled=True, size=90, color=OKABE_ITO[0]).encode(
        tooltip=[
            alt.Tooltip("program:N", title="Program"),
            alt.Tooltip("review_date:N", title="Review"),
            alt.Tooltip("total:Q", title=total_title, format=".2f"),
            alt.Tooltip("outcome:Q", title=outcome_title, format=".1f"),
            alt.Tooltip("months:Q", title="Months with a value"),
        ]
    )
    names = base.mark_text(align="left", dx=8, dy=-6, fontSize=11).encode(text="program:N")
    return (dots + names).properties(width=WIDTH, height=360, title=_title(title, subtitle))


def every_program_chart(series: pd.DataFrame, *, outcome_title: str) -> alt.TopLevelMixin:
    """Small panels, one per program: the outcome per month (bars) and its fidelity totals
    (black points and line, right axis). `series`: program, date, what ("fidelity"/"outcome"),
    value, scale."""
    base = alt.Chart().encode(x=alt.X("date:T", title=None, axis=YEARS))
    bars = (
        base.transform_filter(alt.datum.what == "outcome")
        .mark_bar(color=OUTCOME_COLOR, opacity=0.6)
        .encode(
            y=alt.Y("value:Q", title=outcome_title),
            tooltip=["date:T", alt.Tooltip("value:Q", title=outcome_title)],
        )
    )
    fidelity = (
        base.transform_filter(alt.datum.what == "fidelity")
        .mark_line(color=TOTAL_COLOR, point=alt.OverlayMarkDef(color=TOTAL_COLOR))
        .encode(
            y=alt.Y(
                "value:Q",
                title="Fidelity total",
                axis=alt.Axis(orient="right", format=".3~g"),
                scale=alt.Scale(zero=False),
            ),
            tooltip=[alt.Tooltip("date:T", title="Review"), alt.Tooltip("value:Q", title="Fidelity total")],
        )
    )
    layered = (
        alt.layer(bars, fidelity, data=series)
        .resolve_scale(y="independent")
        .properties(width=180, height=110)
    )
    return (
        layered.facet(facet=alt.Facet("program:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(title=_title(f"Every program: fidelity total and {outcome_title}"))
    )
