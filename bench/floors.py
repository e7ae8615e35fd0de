"""The floors: the fastest reasonable way to get the same numbers, each with why.

- Scoring: `numpy.bincount`. Every mean is a sum over a review's ratings divided by a count,
  and bincount adds up weights per integer code in one pass in C: one factorization of the
  review ids, one lookup of each item's subscale, then a bincount per sum and per count. Nothing
  faster computes the means from the rows (a pandas groupby does the same work with more
  overhead: it was 5x slower on this machine).
- Dashboard: an index seek per program over stored per-review sums. Final reviews never change,
  so their sums can be added up once, when final, and kept (the floor keeps them in a table of
  its own, made once and not timed); the latest final review of each program is then one
  backward step of the (program, scale, date, id) index, and its sums one primary-key read:
  no rating is touched. Anything slower reads ratings it does not need.
- Import: the driver's own bulk insert (`executemany` on SQLite, `COPY` on PostgreSQL) of the
  same rows, shown in bench/process_cases.py: the least a database takes to store them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SUBSCALES = ("H", "O", "S")  # DACTS; the floors read an item's subscale from its id's first letter
FLOOR_SUMS = "bench_floor_sums"
FINAL = (
    "r.status = 'final' AND NOT EXISTS "
    "(SELECT 1 FROM reviews n WHERE n.amendment_of = r.id AND n.status = 'final')"
)
BAND = (  # DACTS 1.0: the total mean rounded to 2 decimals, then its band
    "CASE WHEN round({total}, 2) >= 4 THEN 'Full implementation' "
    "WHEN round({total}, 2) >= 3 THEN 'Fair implementation' ELSE 'Not ACT' END"
)


def bincount_means(ratings: pd.DataFrame, subscale_of: dict[str, str]) -> pd.DataFrame:
    """Each review's total and subscale means (NaN where nothing is rated), indexed by review id;
    `subscale_of` maps every item id of the scales in `ratings` to its subscale id."""
    codes, reviews = pd.factorize(ratings["review_id"])
    rating = ratings["rating"].to_numpy(dtype="float64", na_value=np.nan)
    rated = ~np.isnan(rating)
    values = np.where(rated, rating, 0.0)
    items = ratings["item_id"]
    if isinstance(items.dtype, pd.CategoricalDtype):
        cats = items.cat.categories
        item_codes = items.cat.codes.to_numpy()
    else:
        item_codes, cats = pd.factorize(items)  # on the column itself: Arrow strings factorize fast
    sub_ids = list(dict.fromkeys(subscale_of.values()))
    sub_index = {s: i for i, s in enumerate(sub_ids)}
    sub_of_item = np.array([sub_index[subscale_of[c]] for c in cats], dtype="int64")
    n, k = len(reviews), len(sub_ids)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.bincount(codes, values, n) / np.bincount(codes, rated, n)
        key = codes * k + sub_of_item[item_codes]
        subs = np.bincount(key, values, n * k) / np.bincount(key, rated, n * k)
    frame = pd.DataFrame(subs.reshape(n, k), index=pd.Index(reviews, name="review_id"))
    frame.columns = [f"sub_{s}" for s in sub_ids]
    frame.insert(0, "total_mean", total)
    return frame


def ensure_floor_sums(conn: Any, dialect: str) -> None:
    """The floor's own table of each final review's sums and counts, made once and brought up to
    date with reviews finalized since (not timed)."""
    exists = (
        "SELECT count(*) FROM sqlite_master WHERE name = ?"
        if dialect == "sqlite"
        else "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = %s AND table_schema = current_schema()"
    )
    sums = ", ".join(
        ["count(c.rating) AS rated", "sum(c.rating) AS total_sum"]
        + [
            f"count(CASE WHEN substr(c.item_id, 1, 1) = '{s}' THEN c.rating END) AS rated_{s.lower()}, "
            f"sum(CASE WHEN substr(c.item_id, 1, 1) = '{s}' THEN c.rating END) AS sum_{s.lower()}"
            for s in SUBSCALES
        ]
    )
    select = (
        f"SELECT r.id AS review_id, {sums} FROM reviews r "
        "JOIN consensus_ratings c ON c.review_id = r.id WHERE r.status = 'final' {missing} GROUP BY r.id"
    )
    if not conn.execute(exists, (FLOOR_SUMS,)).fetchone()[0]:
        conn.execute(f"CREATE TABLE {FLOOR_SUMS} AS {select.format(missing='')}")
        conn.execute(f"CREATE UNIQUE INDEX {FLOOR_SUMS}_id ON {FLOOR_SUMS} (review_id)")
    else:
        missing = f"AND r.id NOT IN (SELECT review_id FROM {FLOOR_SUMS})"
        conn.execute(f"INSERT INTO {FLOOR_SUMS} {select.format(missing=missing)}")
    conn.commit()


def dashboard_floor_sql(scale_id: str, dialect: str, *, user_email: str | None = None) -> str:
    """Each program's latest current final review of the scale, by an index seek, with its means
    from the stored sums and its band; only the programs of the user with `user_email` when given."""
    real = "1.0 *"  # no integer division
    means = ", ".join(
        [f"{real} s.total_sum / s.rated"]
        + [f"{real} s.sum_{x.lower()} / nullif(s.rated_{x.lower()}, 0)" for x in SUBSCALES]
    )
    latest = (
        f"SELECT r.id FROM reviews r WHERE r.program_id = p.id AND r.scale_id = '{scale_id}' AND {FINAL} "
        "ORDER BY r.review_date DESC, r.id DESC LIMIT 1"
    )
    band = BAND.format(total=f"{real} s.total_sum / s.rated")
    return (
        f"SELECT r.id, p.id, p.name, pr.name, p.region, r.scale_version, r.review_date, {means}, {band} "
        f"FROM programs p JOIN reviews r ON r.id = ({latest}) "
        f"JOIN {FLOOR_SUMS} s ON s.review_id = r.id LEFT JOIN providers pr ON pr.id = p.provider_id "
        + (
            ""
            if user_email is None
            else "WHERE p.id IN (SELECT up.program_id FROM user_programs up "
            "JOIN users u ON u.id = up.user_id "
            f"WHERE u.email = '{user_email}') "
        )
        + "ORDER BY p.name"
    )
