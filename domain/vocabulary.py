"""Statuses, kinds and roles as the fidelity review speaks of them; storage maps them to columns."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

NAME_LENGTH = 200  # a program's, provider's or region's name
PERSON_LENGTH = 100  # a rater's or actor's name (the audit log records it)

# The longest free text each field takes (characters, after stripping), so that what a
# review stores, and what its PDF report prints, stays bounded (README "Input limits").
# Room for what a reviewer writes (2,000 characters are two thirds of a page), and low enough
# that the PDF of a review with every text at its limit takes under a CPU second
# (bench/longest.py measures it; the report's cost grows with the text it prints).
FINDINGS_LENGTH = 3_000  # a review's strengths, and its recommendations
SUMMARY_LENGTH = 6_000  # a review's summary
EVIDENCE_LENGTH = 2_000  # an item's consensus evidence; a rater's note on an item
RECOMMENDATION_LENGTH = 1_000  # an item's consensus recommendation
REASON_LENGTH = 500  # why an item is not rated; why a final review is amended
DATA_SOURCE_LENGTH = 100  # one data source of an item ("chart review", "team meeting")
DATA_SOURCES_COUNT = 10  # data sources of one item

# Review dates: from before DACTS was published (1998), so historical reviews fit, to a year
# ahead (a review planned for next spring); anything else is a typing error (year 1, 9999).
EARLIEST_REVIEW_DATE = dt.date(1990, 1, 1)
LATEST_REVIEW_DAYS_AHEAD = 365  # the latest review date is today plus this many days


class ProgramModel(StrEnum):
    ACT = "ACT"
    IDDT = "IDDT"


class ReviewType(StrEnum):
    BASELINE = "baseline"
    FOLLOW_UP = "follow-up"
    SELF_ASSESSMENT = "self-assessment"


class ReviewStatus(StrEnum):
    DRAFT = "draft"  # raters are rating
    CONSENSUS = "consensus"  # consensus ratings are being agreed
    FINAL = "final"  # immutable; change it only through an amendment


class Role(StrEnum):
    AGENCY_ADMIN = "agency_admin"  # everything: users, scales, programs, every review
    REVIEWER = "reviewer"  # the reviews they are assigned to; reads programs
    PROGRAM_MANAGER = "program_manager"  # read-only: their own programs' final reviews


class RatingSource(StrEnum):
    RATED = "rated"  # the rating was given (inputs, if any, agree with it)
    COMPUTED = "computed"  # the rating follows from the inputs
