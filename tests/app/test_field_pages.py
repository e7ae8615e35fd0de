"""The Rate page with review packages (AppTest): a field copy says so and where it came from;
a check-in's conflicts are listed side by side and a choice settles one (it survives a rerun)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.field import FIELD_COPY_OPEN
from services import field_checkout, field_sync
from services.access import acting_for, local_admin
from services.database import open_database
from services.reviews import create_program, get_review, save_rating, start_review

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ANA = acting_for(local_admin(), "Ana")


def rate_page(review_id: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["review"] = str(review_id)
    at.query_params["rater"] = "Ana"
    at.run()
    at.switch_page("app_pages/rate.py").run()
    assert not at.exception
    return at


def test_a_field_copy_says_so_and_a_checkin_conflict_is_settled_on_the_rate_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_url, laptop_url = f"sqlite:///{tmp_path / 'server.db'}", f"sqlite:///{tmp_path / 'laptop.db'}"
    with open_database(server_url) as server, open_database(laptop_url) as laptop:
        program = create_program(server, "Riverside ACT", actor=local_admin("test"), model="ACT")
        review = start_review(
            server, program.id, "dacts", "1.0", dt.date(2026, 3, 2), "baseline", ("Ana", "Ben"), actor=ANA
        )
        save_rating(server, review.id, "Ana", "H3", rating=3, actor=ANA)
        package = field_checkout.checkout_review(server, review.id, actor=ANA)
        local = field_checkout.open_package(laptop, package.text, actor=local_admin()).review_id
        save_rating(laptop, local, "Ana", "H3", rating=4, actor=ANA)
        export = field_checkout.export_field_copy(laptop, local, actor=local_admin()).text
        save_rating(server, review.id, "Ana", "H3", rating=2, actor=ANA)
        assert len(field_sync.checkin_package(server, export, actor=local_admin()).conflicts) == 1

    monkeypatch.setenv("FIDELITY_DATABASE_URL", laptop_url)
    at = rate_page(local)
    banner = " ".join(w.value for w in at.warning)
    assert "This review is a field copy" in banner and "the agency server" in banner and "Ana" in banner

    monkeypatch.setenv("FIDELITY_DATABASE_URL", server_url)
    at = rate_page(review.id)
    assert not at.warning or "field copy" not in " ".join(w.value for w in at.warning)
    shown = " ".join(m.value for m in at.markdown)
    assert "**Server value:** 2" in shown and "**Field value:** 4" in shown
    at.button(
        key=next(b.key for b in at.button if b.key and b.key.startswith("field-keep-field-"))
    ).click().run()
    assert not at.exception
    assert not [b for b in at.button if b.key and b.key.startswith("field-keep-")]
    with open_database(server_url) as server:
        assert get_review(server, review.id, actor=ANA).ratings["Ana"]["H3"].rating == 4
        assert field_sync.pending_conflicts(server, review.id, actor=ANA) == []


def test_the_field_copy_panel_is_drawn_when_opened_and_its_download_stays_across_reruns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with open_database(url) as server:
        program = create_program(server, "Riverside ACT", actor=local_admin("test"), model="ACT")
        review = start_review(
            server, program.id, "dacts", "1.0", dt.date(2026, 3, 2), "baseline", ("Ana", "Ben"), actor=ANA
        )
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    at = rate_page(review.id)
    make = f"field-download|{review.id}|make"
    assert not [b for b in at.button if b.key == make]  # closed: its content is not drawn

    at.session_state[FIELD_COPY_OPEN] = True  # the reviewer opens it (a rerun)
    at.run()
    at.button(key=make).click().run()
    for _ in range(2):  # the click's run, then plain reruns: the panel stays open, the package there
        assert not at.exception
        panel = next(e for e in at.expander if e.label == "Field copy (rate without a network)")
        assert panel.proto.expanded
        assert [b for b in panel.get("download_button") if b.proto.label.startswith("Download review-")]
        at.run()
