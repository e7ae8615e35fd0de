"""Exact arithmetic for ratings: values are Decimals and rounding is half-up.

Binary floats would put 0.395 FTE per 100 clients just below 0.395 and round it down;
scores on a state report must not depend on that.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

_CONTEXT = Context(prec=40)


def to_decimal(value: int | float | Decimal | Fraction) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        return _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))  # the shortest text of the float, e.g. 0.395 not 0.39499…


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    return _CONTEXT.divide(numerator, denominator)


def round_half_up(value: int | float | Decimal | Fraction, precision: int) -> Decimal:
    return to_decimal(value).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def as_float(value: Decimal | Fraction | None, precision: int | None = None) -> float | None:
    """A number for display or JSON, optionally rounded half-up first."""
    if value is None:
        return None
    if precision is not None:
        return float(round_half_up(value, precision))
    return float(value)
