"""TEMP (dropped at merge: another helper owns services/analytics.py): what the analytics pages
use from scoring.analytics and services.analytics_data, re-exported so pages import services only."""

from __future__ import annotations

from scoring.analytics import (
    LOW_RATING,
    AgencyOverview,
    DriftReport,
    ItemSeries,
    ProgramSeries,
    agency_overview,
    drift,
    item_series,
    program_series,
)
from services.analytics_data import data_version, drift_overview, finalized_ratings, review_date_spans, scale_problems

__all__ = [
    "LOW_RATING",
    "AgencyOverview",
    "DriftReport",
    "ItemSeries",
    "ProgramSeries",
    "agency_overview",
    "data_version",
    "drift",
    "drift_overview",
    "finalized_ratings",
    "item_series",
    "program_series",
    "review_date_spans",
    "scale_problems",
]
