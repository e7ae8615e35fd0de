"""Statuses, kinds and roles as the fidelity review speaks of them; storage maps them to columns."""

from __future__ import annotations

from enum import StrEnum

NAME_LENGTH = 200  # a program's, provider's or region's name
PERSON_LENGTH = 100  # a rater's or actor's name (the audit log records it)


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
