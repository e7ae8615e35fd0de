"""The mean of subscale means, rounded half-up, in integer arrays (exactly what Fractions give)."""

from __future__ import annotations

import numpy as np


def mean_of_means_in_integers(
    sums: np.ndarray, counts: np.ndarray, factor: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean of the subscale means rounded half-up to 1/factor, as an integer count of
    1/factor, and whether there is one; exactly what the Fractions give (None when int64 might
    not hold the numbers: the Fractions then). The mean is N / D with L the counts' least common
    multiple, N = sum of sum_i * (L / count_i) and D = subscales rated * L, so its rounding is
    sign(N) * floor((2|N| * factor + D) / (2D)), as for the mean of items: a dozen array
    operations instead of a Fraction sum per distinct review (a third of a dashboard's scoring)."""
    has = counts > 0
    if not len(sums) or not sums.shape[1]:
        return None
    # L <= every count multiplied, and |N| <= subscales * |largest sum| * L: int64 must hold
    # 2 * |N| * factor + D; checked in Python integers before any int64 product is made.
    largest_count = max(int(counts.max()), 1)
    largest_sum = max(int(np.abs(sums).max()), 1)
    k = sums.shape[1]
    if (largest_count**k) * k * (2 * largest_sum * factor + 1) >= 2**62:
        return None
    safe = np.where(has, counts, 1)
    lcm = np.lcm.reduce(safe, axis=1)
    numerator = np.where(has, sums * (lcm[:, None] // safe), 0).sum(axis=1)
    rated = has.sum(axis=1)
    ok = rated > 0
    denominator = np.maximum(rated, 1) * lcm
    value = np.sign(numerator) * ((2 * np.abs(numerator) * factor + denominator) // (2 * denominator))
    return np.where(ok, value, 0).astype("int64", copy=False), ok
