"""Finalized reviews from the database, as the frame `scoring.analytics` reads.

`finalized_ratings` loads every final review's consensus ratings with two queries, the reviews'
columns once and their ratings (no loop over programs or reviews); `data_version` is a cheap
fingerprint of that data, for the pages to key their caches on; `drift_overview` is every
program's latest-against-previous comparison at once (the agency-wide view of
`scoring.analytics.drift`, vectorised).

When a final review has been amended and the amendment is final too, only the amendment counts:
it replaces the review it corrects. An amendment still in progress does not count yet.

The scores the database adds up (`review_scores`, `ReviewScores`, `PACK`) live in
`services.analytics_scores`, and what both share (`scale_problems`, the current final reviews,
running a statement) in `services.analytics_query`; their names are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, Integer, Select, bindparam, func, literal_column, null, select

from scales import ScaleRegistry
from scoring.analytics import LOW_RATING, RATING_COLUMNS, review_totals
from services import access
from services.access import Action, Actor
from services.analytics_query import current_final, run_in, run_unpinged
from services.analytics_query import scale_problems as scale_problems
from services.analytics_scores import PACK as PACK
from services.analytics_scores import ReviewScores as ReviewScores
from services.analytics_scores import review_scores as review_scores
from services.database import Database
from services.integrity_gate import LEFT_OUT, gate, mark_left_out
from services.integrity_gate import left_out as left_out  # the pages read the warnings with it
from storage.models import AnalyticsChanges, ConsensusRating, Program, Provider, Review

FRAME_COLUMNS: Final[tuple[str, ...]] = (*RATING_COLUMNS, "scale_hash")
"""RATING_COLUMNS plus scale_hash (the content hash of the scale file the review was rated on)."""

RATING_ROW_COLUMNS: Final = ("item_id", "rating", "evidence")
REVIEW_COLUMNS: Final[tuple[str, ...]] = tuple(c for c in FRAME_COLUMNS if c not in RATING_ROW_COLUMNS)
"""The columns of FRAME_COLUMNS a review has once, whatever its ratings."""

OVERVIEW_COLUMNS: Final[tuple[str, ...]] = (
    "program_id",
    "program",
    "provider",
    "region",
    "scale_id",
    "reviews",
    "previous_review_id",
    "previous_review_date",
    "review_id",
    "review_date",
    "previous_band",
    "band",
    "band_direction",
    "previous_value",
    "value",
    "falls",
    "fallen_items",
    "largest_fall",
    "low_twice",
    "low_items",
)
"""Columns of `drift_overview`: one row per (program, scale) with at least one final review."""


def finalized_ratings(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    scale_id: str | None = None,
    latest: int | None = None,
    evidence: bool = True,
    reviewed_from: dt.date | None = None,
    reviewed_to: dt.date | None = None,
) -> pd.DataFrame:
    """One row per (final review, item) in the RATING_COLUMNS shape, plus scale_hash.

    Final reviews only, of the programs the actor's analytics scope covers (a program manager:
    their own); a final review replaced by a final amendment is left out. Rows are in
    review_date, review_id and item order; `rating` is Int64 (NA: not rated), `review_date`
    datetime64.

    The database does the narrowing: `program_id` and `scale_id` keep one program's or one
    scale's reviews, `reviewed_from` and `reviewed_to` (inclusive) the reviews dated in that
    window, `latest=k` each program's k latest of those reviews of each scale (and adds the
    column `final_reviews`: how many of them the program has of that scale), and
    `evidence=False` leaves the evidence text in the database (the column is None).

    The integrity gate (services.integrity_gate) checks the same reviews in the same read: a
    review whose ratings no longer match their seal is left out, and its warning is in the
    frame's attrs (`services.integrity_gate.left_out(frame)`).
    """
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    where = current_final()
    if visible is not None:
        where.append(visible)
    if program_id is not None:
        where.append(Review.program_id == program_id)
    if scale_id is not None:
        where.append(Review.scale_id == scale_id)
    if reviewed_from is not None:
        where.append(Review.review_date >= reviewed_from)
    if reviewed_to is not None:
        where.append(Review.review_date <= reviewed_to)
    # Two reads: each review's own columns once, and its ratings as (review, item, rating); the
    # frame repeats a review's columns on its rows. One join repeated the program, provider,
    # region, scale and hash on each of the ~28 rows of a review: at 5,000 programs (286,000 rows
    # of the latest two) most of the read's seconds went to fetching and typing those copies.
    review_columns: list[Any] = [
        Review.id,
        Program.id,
        Program.name,
        Provider.name,
        Program.region,
        Review.scale_id,
        Review.scale_version,
        Review.review_date,
        Review.scale_hash,
    ]
    query = select(*review_columns).join(Program, Program.id == Review.program_id).outerjoin(
        Provider, Provider.id == Program.provider_id
    )
    names = [*REVIEW_COLUMNS]
    if latest is not None:
        partition = (Review.program_id, Review.scale_id)
        ranked = (
            select(
                Review.id.label("id"),
                func.row_number()
                .over(partition_by=partition, order_by=(Review.review_date.desc(), Review.id.desc()))
                .label("k"),
                func.count().over(partition_by=partition).label("n"),
            )
            .join(Program, Program.id == Review.program_id)
            .where(*where)
            .subquery("ranked")
        )
        query = (
            query.add_columns(ranked.c.n).join(ranked, ranked.c.id == Review.id).where(ranked.c.k <= latest)
        )
        names.append("final_reviews")
    else:
        query = query.where(*where)
    query = query.order_by(Review.review_date, Review.id)
    ratings = select(
        ConsensusRating.review_id,
        ConsensusRating.item_id,
        ConsensusRating.rating,
        ConsensusRating.evidence if evidence else null(),
    ).order_by(ConsensusRating.review_id, ConsensusRating.id)
    with db.reading() as s:
        # Core, not the ORM: these are plain columns, and the ORM's row loading cost 0.5 s of
        # 56,000 rows.
        connection = s.connection()
        reviews = connection.execute(query).all()
        # The ratings and the gate take the ids just read, as one parameter, not `IN (read)`: the
        # window was computed again for each (0.2 s each of 10,500 reviews at 5,000 programs on
        # SQLite), and PostgreSQL misjudged its rows and scanned every rating.
        chosen = _ids_read(connection.dialect.name, [row[0] for row in reviews])
        rated = run_in(connection, ratings.where(ConsensusRating.review_id.in_(chosen)))
        checked = gate(s, chosen, whole=False)  # the same reviews, in the same read; no stored score read
    frame = _review_rows(reviews, names, rated)
    return mark_left_out(frame, checked)


def _ids_read(dialect: str, ids: list[int]) -> Select[Any]:
    """A one-column SELECT of `ids` from one bound parameter, whatever their number (a
    parameter each would pass SQLite's and psycopg's limits at agency scale)."""
    if dialect == "postgresql":
        return select(func.unnest(bindparam("review_ids", ids, type_=ARRAY(Integer))))
    listed = func.json_each(bindparam("review_ids", json.dumps(ids)))  # SQLite's JSON1, built in
    return select(literal_column("value")).select_from(listed)


def _columns_frame(rows: Sequence[Any], names: list[str]) -> pd.DataFrame:
    """The rows as a frame, each column's type inferred from its values as
    DataFrame.from_records(rows, coerce_float=False) infers it."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data = {}
    for name, values in zip(names, columns, strict=True):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        data[name] = array
    return pd.DataFrame(data, columns=names).infer_objects()


def _review_rows(reviews: Sequence[Any], names: list[str], rated: Sequence[Any]) -> pd.DataFrame:
    """The FRAME_COLUMNS frame (with `names`' extra columns) of `reviews` (one row each, in the
    frame's order) and their `rated` rows (review id, item, rating, evidence; in review id then
    rating id order): each rating row with its review's columns, in the reviews' order. A rating
    row of a review not among `reviews` is dropped (on PostgreSQL the two statements may see
    different commits: a review made final in between), as is a review without rating rows (the
    inner join did the same)."""
    head = _columns_frame(reviews, names)
    head["review_id"] = head["review_id"].astype("int64")
    head["program_id"] = head["program_id"].astype("int64")
    head["review_date"] = pd.to_datetime(head["review_date"])
    for column in ("program", "provider", "region"):
        head[column] = pd.Series(head[column].to_numpy(dtype=object, na_value=None), dtype=object)
    ids = head["review_id"].to_numpy()
    # One 2-D object array, not zip(*rows): a tuple of 286,000 values per column cost 0.4 s in a
    # large process (the garbage collector walking the new tuples), the array a fifth of that.
    table = np.array(rated, dtype=object).reshape(len(rated), 4)
    review_of, item_id, rating, evidence = (table[:, i] for i in range(4))
    wanted = review_of.astype("int64")
    if len(ids):
        by_id = np.argsort(ids, kind="stable")
        found = np.minimum(np.searchsorted(ids, wanted, sorter=by_id), len(ids) - 1)
        position = by_id[found]
        known = ids[position] == wanted
    else:
        position, known = wanted, np.zeros(len(wanted), dtype=bool)
    # Reviews' order, each review's rating rows in their id order (a stable sort keeps it).
    order = np.flatnonzero(known)[np.argsort(position[known], kind="stable")]
    # A take: each review's program, provider and region stay one object on all its rows (less
    # memory, and scoring.analytics finds them equal without comparing).
    frame = head.iloc[position[order]].reset_index(drop=True)
    frame["item_id"] = pd.Series(item_id[order]).infer_objects()
    frame["rating"] = pd.array(list(rating[order]), dtype="Int64")
    frame["evidence"] = pd.Series(evidence[order], dtype=object)
    return frame[[*FRAME_COLUMNS, *names[len(REVIEW_COLUMNS) :]]]


def of_scale(ratings: pd.DataFrame, scale_id: str) -> pd.DataFrame:
    """The rows of one scale of a `finalized_ratings` frame, with that scale's left-out reviews:
    what `finalized_ratings(scale_id=scale_id, ...)` with the same other keywords gives (the
    `latest` ranking is per program and scale, and the gate checks each review alone), without
    reading the database again."""
    rows = ratings.loc[ratings["scale_id"] == scale_id].reset_index(drop=True)
    rows.attrs[LEFT_OUT] = tuple(x for x in ratings.attrs.get(LEFT_OUT, ()) if x.scale_id == scale_id)
    return rows


def review_date_spans(db: Database, *, actor: Actor) -> dict[str, tuple[dt.date, dt.date]]:
    """scale id -> the dates of the first and the last current final review of it the actor may
    see (what a page's date filter offers), from one small aggregate query."""
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    query = select(Review.scale_id, func.min(Review.review_date), func.max(Review.review_date)).where(
        *current_final()
    )
    if visible is not None:
        query = query.join(Program, Program.id == Review.program_id).where(visible)
    with db.reading() as s:
        rows = s.execute(query.group_by(Review.scale_id)).all()
    return {str(scale_id): (first, last) for scale_id, first, last in rows}


def data_version(db: Database, *, max_age: float = 0.0) -> str:
    """A fingerprint of what `finalized_ratings` reads: one primary-key lookup.

    Triggers (migration 0004) count every change of what the analytics read (a review that
    becomes final, a final amendment replacing one included, every change of a program or a
    provider), in the transaction that makes it, and stamp the time; final reviews can be
    neither changed nor deleted.

    `max_age` (seconds): the version read less than that long ago is given again without asking
    the database, unless something was written through `db` since (the pages' reruns, which
    each asked it: a change made by this process shows at once, one made by another process, the
    CLI or a second server, within `max_age`).
    """
    writes = db.writes
    seen = db.version_seen
    if max_age > 0 and seen is not None and seen[2] == writes and time.monotonic() - seen[1] < max_age:
        return seen[0]
    rows = run_unpinged(db, _DATA_VERSION, {})  # one SELECT on the driver, no ping first
    assert rows is not None and len(rows) == 1, "analytics_changes holds one row (migration 0004)"
    counter, changed_at = rows[0]
    version = f"{counter}|{changed_at}"  # a fingerprint: the driver's own form of the time will do
    db.version_seen = (version, time.monotonic(), writes)  # `writes` from before the read
    return version


_DATA_VERSION = select(AnalyticsChanges.counter, AnalyticsChanges.changed_at)


def drift_overview(
    ratings: pd.DataFrame, registry: ScaleRegistry, *, low_below: int = LOW_RATING
) -> pd.DataFrame:
    """Every program's latest review of each scale against its previous one, all at once.

    The same comparison as `scoring.analytics.drift` (items rated on both reviews; a fall is
    a lower rating; a low is a rating below `low_below` on both; the band change compares band
    levels), computed with merges over the whole frame instead of one call per program.
    `ratings` needs only each program's two latest reviews of each scale (finalized_ratings with
    latest=2, whose `final_reviews` column then gives `reviews`).
    Columns OVERVIEW_COLUMNS; `band_direction` is "fell", "rose", "same", "unknown" (a review
    without a band) or None (only one review). Sorted with the band falls first, then by
    number of falls, then program name.
    """
    if ratings.empty:
        return pd.DataFrame({col: pd.Series([], dtype=object) for col in OVERVIEW_COLUMNS})
    totals = review_totals(ratings, registry)  # one row per review, by date then id
    group = totals.groupby(["program_id", "scale_id"], sort=False)
    totals["_from_end"] = group.cumcount(ascending=False)
    totals["reviews"] = group["review_id"].transform("size")
    if "final_reviews" in ratings.columns:  # finalized_ratings(latest=2) counts what it left out
        counts = ratings.drop_duplicates("review_id").set_index("review_id")["final_reviews"]
        totals["reviews"] = totals["review_id"].map(counts).astype("int64")
    keep = ["program_id", "scale_id", "review_id", "review_date", "band", "band_level", "banded_value"]
    latest = totals.loc[totals["_from_end"] == 0, [*keep, "program", "provider", "region", "reviews"]]
    previous = totals.loc[totals["_from_end"] == 1, keep].rename(
        columns={c: f"previous_{c}" for c in keep if c not in ("program_id", "scale_id")}
    )
    out = latest.merge(previous, on=["program_id", "scale_id"], how="left")

    level_now = out["band_level"].astype("Float64")
    level_before = out["previous_band_level"].astype("Float64")
    direction = np.select(
        [
            (level_now < level_before).fillna(False).to_numpy(dtype=bool),
            (level_now > level_before).fillna(False).to_numpy(dtype=bool),
            (level_now == level_before).fillna(False).to_numpy(dtype=bool),
        ],
        ["fell", "rose", "same"],
        default="unknown",
    ).astype(object)
    direction[out["previous_review_id"].isna().to_numpy()] = None
    out["band_direction"] = direction

    # Items of the latest review against the same items of the previous one.
    pairs = out.loc[out["previous_review_id"].notna(), ["review_id", "previous_review_id"]]
    pairs = pairs.astype("int64")
    rated = ratings.loc[ratings["rating"].notna(), ["review_id", "item_id", "rating"]]
    now = rated.merge(pairs, on="review_id")
    before = rated.rename(columns={"review_id": "previous_review_id", "rating": "previous_rating"})
    compared = now.merge(before, on=["previous_review_id", "item_id"])
    compared["change"] = (compared["rating"] - compared["previous_rating"]).astype("int64")
    compared["_pos"] = _item_positions(ratings, compared, registry)

    falls = compared.loc[compared["change"] < 0].sort_values(["review_id", "change", "_pos"], kind="stable")
    fall_stats = _per_review(falls, "falls", "fallen_items", smallest="largest_fall")
    low = compared.loc[(compared["rating"] < low_below) & (compared["previous_rating"] < low_below)]
    low = low.sort_values(["review_id", "_pos"], kind="stable")
    low_stats = _per_review(low, "low_twice", "low_items")
    out = out.merge(fall_stats, left_on="review_id", right_index=True, how="left")
    out = out.merge(low_stats, left_on="review_id", right_index=True, how="left")
    has_pair = out["previous_review_id"].notna()
    for column in ("falls", "low_twice"):
        out[column] = out[column].where(~has_pair | out[column].notna(), 0)
        out[column] = pd.array(out[column], dtype="Int64")
    out["largest_fall"] = pd.array(out["largest_fall"], dtype="Int64")
    text_columns = ("fallen_items", "low_items", "program", "provider", "region", "band", "previous_band")
    for column in (*text_columns, "band_direction"):
        out[column] = pd.Series(
            out[column].to_numpy(dtype=object, na_value=None), index=out.index, dtype=object
        )
    out["previous_review_id"] = pd.array(out["previous_review_id"], dtype="Int64")
    out = out.rename(columns={"banded_value": "value", "previous_banded_value": "previous_value"})

    severity = np.where(out["band_direction"] == "fell", 0, 1)
    out = out.assign(_severity=severity, _falls=out["falls"].fillna(-1).astype("int64"))
    out = out.sort_values(
        ["_severity", "_falls", "program", "scale_id"], ascending=[True, False, True, True], kind="stable"
    )
    return out.loc[:, list(OVERVIEW_COLUMNS)].reset_index(drop=True)


def _per_review(rows: pd.DataFrame, count: str, items: str, *, smallest: str | None = None) -> pd.DataFrame:
    """Per review of `rows` (sorted by review_id): how many rows (`count`), their item ids joined
    with ", " in row order (`items`) and, with `smallest`, the least `change`; indexed by review_id.
    What a groupby with ", ".join gives, without a Python call per group (0.2 s of 1,000)."""
    ids = rows["review_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, dtype="int64")
    ends = np.append(starts[1:], len(ids)) if len(ids) else starts
    names = rows["item_id"].to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            count: (ends - starts).astype("int64"),
            items: np.array([", ".join(names[a:b]) for a, b in zip(starts, ends, strict=True)], dtype=object),
        },
        index=pd.Index(ids[starts], name="review_id"),
    )
    if smallest is not None:
        change = rows["change"].to_numpy(dtype="int64")
        out[smallest] = np.minimum.reduceat(change, starts) if len(starts) else np.zeros(0, dtype="int64")
    return out


def _item_positions(ratings: pd.DataFrame, compared: pd.DataFrame, registry: ScaleRegistry) -> np.ndarray:
    """Each compared item's position in its review's scale version (for the scale's item order)."""
    if compared.empty:
        return np.zeros(0, dtype="int64")
    versions = ratings.drop_duplicates("review_id").set_index("review_id")[["scale_id", "scale_version"]]
    keys = versions.loc[compared["review_id"]]
    position = np.zeros(len(compared), dtype="int64")
    for (scale_id, version), index in keys.groupby(["scale_id", "scale_version"]).indices.items():
        order = {item_id: i for i, item_id in enumerate(registry.get(scale_id, version).item_ids)}
        position[index] = compared["item_id"].iloc[index].map(order).fillna(len(order)).to_numpy()
    return position
