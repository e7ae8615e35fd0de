"""The Rate page's item panel says each thing once and lines its number boxes up (AppTest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from services.access import local_admin
from services.database import Database, open_database
from services.reviews import create_program, start_review

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def rate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppTest, int]]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        review_id = started(db)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["review"] = str(review_id)
    at.run()
    at.switch_page("app_pages/rate.py").run()
    assert not at.exception
    yield at, review_id


def started(db: Database) -> int:
    program = create_program(db, "Riverside ACT", actor=local_admin("test"), model="ACT")
    return start_review(
        db,
        program.id,
        "dacts",
        "1.0",
        dt.date(2026, 3, 2),
        "baseline",
        ("Ana", "Ben"),
        actor=local_admin("test"),
    ).id


def test_anchors_are_shown_once_as_the_ratings_captions(rate: tuple[AppTest, int]) -> None:
    at, _ = rate
    h1 = at.radio[-1]  # H1's rating, its anchors as the choices' captions
    with open_database() as db:  # FIDELITY_DATABASE_URL: the test's
        anchor = db.registry.get("dacts", "1.0").item("H1").anchors[5]
    assert any(anchor in caption for caption in h1.proto.captions)
    assert not [df for df in at.dataframe if "anchor" in df.value.columns]
    shown = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert anchor not in shown


def test_number_labels_do_not_repeat_their_unit_and_the_boxes_line_up(rate: tuple[AppTest, int]) -> None:
    at, review_id = rate
    clients = at.number_input(key=f"rate|{review_id}|Ana|H1|clients")
    staff = at.number_input(key=f"rate|{review_id}|Ana|H1|staff_fte")
    assert clients.label == "Active clients"  # not "Active clients (clients)"
    assert staff.label == "Clinical staff FTE (psychiatrist and program assistant excluded)"
    # The boxes' row (a horizontal container): bottom-aligned, so a two-line label does not push its
    # box down.
    row = next(b for b in _blocks(at.main) if {clients.key, staff.key} <= _keys(b))  # the boxes' parent
    assert row.proto.flex_container.direction == BlockProto.FlexContainer.Direction.HORIZONTAL
    assert row.proto.flex_container.align == BlockProto.FlexContainer.Align.ALIGN_END


def _blocks(node: Block) -> Iterator[Block]:
    """Every block under `node`, outermost first."""
    for child in node.children.values():
        if isinstance(child, Block):
            yield child
            yield from _blocks(child)


def _keys(block: Block) -> set[str]:
    """The keys of the widgets directly in `block`."""
    return {key for child in block.children.values() if (key := getattr(child, "key", None))}
