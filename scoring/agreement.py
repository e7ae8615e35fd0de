"""Inter-rater agreement between two raters' item ratings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    item_id: str
    rating_a: int
    rating_b: int

    @property
    def gap(self) -> int:
        return abs(self.rating_a - self.rating_b)


@dataclass(frozen=True)
class Agreement:
    compared: int  # items both raters rated
    exact: int
    within_one: int
    differences: list[Difference]  # every item they rated differently, largest gap first
    rated_by_one: list[str]  # items only one rater has rated so far

    @property
    def exact_pct(self) -> float | None:
        return 100 * self.exact / self.compared if self.compared else None

    @property
    def within_one_pct(self) -> float | None:
        return 100 * self.within_one / self.compared if self.compared else None

    @property
    def discrepancies(self) -> list[Difference]:
        """Items where the raters differ by 2 or more: these need discussion first."""
        return [d for d in self.differences if d.gap >= 2]


def agreement(
    item_ids: Sequence[str],
    ratings_a: Mapping[str, int | None],
    ratings_b: Mapping[str, int | None],
) -> Agreement:
    compared = exact = within_one = 0
    differences: list[Difference] = []
    rated_by_one: list[str] = []
    for item_id in item_ids:
        a, b = ratings_a.get(item_id), ratings_b.get(item_id)
        if a is None and b is None:
            continue
        if a is None or b is None:
            rated_by_one.append(item_id)
            continue
        compared += 1
        gap = abs(a - b)
        exact += gap == 0
        within_one += gap <= 1
        if gap:
            differences.append(Difference(item_id, a, b))
    order = {item_id: i for i, item_id in enumerate(item_ids)}
    differences.sort(key=lambda d: (-d.gap, order[d.item_id]))
    return Agreement(compared, exact, within_one, differences, rated_by_one)
