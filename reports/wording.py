"""Words the Results page and the PDF report both print: how a scale's total is read, and the
working of a computed item's rating. Plain text only (no fpdf2, no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from scales.schema import Scale, TotalMethod

if TYPE_CHECKING:  # the type only: its module loads scikit-learn
    from scoring.agreement_stats import ReviewAgreement

METHOD_TEXT: Final = {
    TotalMethod.MEAN_OF_ITEMS: "the mean of the rated items",
    TotalMethod.MEAN_OF_SUBSCALE_MEANS: "the mean of the subscale means",
    TotalMethod.SUM: "the sum of all item ratings (given only when every item is rated)",
}


@dataclass(frozen=True)
class Working:
    """How a computed item's rating came about: "10.1053 clients per FTE", and "10" when the
    value was rounded before it was read against the anchors (else None)."""

    value: str
    rounded: str | None


def computed_working(entry: Mapping[str, Any], scale: Scale, item_id: str) -> Working | None:
    """The working of an item's score entry when its rating was computed from numbers, else None."""
    if entry.get("value") is None:
        return None
    value = f"{entry['value']:.4f}".rstrip("0").rstrip(".")  # stored rounded to 4 places
    text = f"{value} {entry.get('unit') or ''}".rstrip()
    rounded = entry.get("rounded")
    if rounded is None or rounded == entry["value"]:
        return Working(text, None)
    compute = scale.item(item_id).compute if scale.has_item(item_id) else None
    places = compute.precision if compute is not None else 2
    return Working(text, f"{rounded:.{places}f}")


def agreement_text(result: ReviewAgreement) -> str:
    """The method note's sentence on inter-rater agreement, with the kappa's weights stated."""
    c = result.counts
    if not c.compared:
        return f"Inter-rater agreement: {result.rater_a} and {result.rater_b} rated no item in common."
    quadratic = result.kappa_quadratic
    extra = f"; with quadratic weights {quadratic.value:.2f}" if quadratic.value is not None else ""
    return (
        f"Inter-rater agreement before consensus ({result.rater_a} and {result.rater_b}, each rating "
        f"independently): {c.exact} of {c.compared} items rated alike ({c.exact_pct:.0f}% exact agreement), "
        f"{c.within_one_pct:.0f}% within one point; Cohen's weighted kappa {result.kappa.text()}{extra}, "
        "computed with scikit-learn's cohen_kappa_score over the items both raters rated."
    )
