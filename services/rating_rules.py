"""The scoring names the Rate and Consensus pages use, re-exported so pages import services
only: the agreement between two raters and the working of a computed item's rating."""

from __future__ import annotations

from scoring import Agreement, ItemRatingError, compute

__all__ = ["Agreement", "ItemRatingError", "compute"]
