"""The Outcomes page on the demo database (AppTest): an agency admin sees fidelity against
hospital days for every program (issue 20's Done when, the outcomes half), a program's
fidelity over time above an outcome, values entered that survive a reload, and a program
manager who enters their own program's outcomes only."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from services import users
from services.access import local_admin
from services.database import open_database
from services.demo import build_demo
from services.demo_agency import PLANS
from services.outcomes import Period, PeriodKind, list_values
from services.programs import list_programs

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TODAY = dt.date(2026, 6, 1)
PAGE = "app_pages/outcomes.py"
MANAGER = "pm@agency.org"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-identity-cookie",
    "client_id": "client.apps.googleusercontent.com",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('outcomes') / 'demo.db'}"
    with open_database(url) as db:
        build_demo(db, today=TODAY)
        own = next(p for p in list_programs(db, actor=local_admin()) if p.name == "Demo ACT Team 2")
        users.add_user(db, MANAGER, role="program_manager", program_ids=[own.id], actor=local_admin("t"))
    yield url


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", demo_url)
    return demo_url


def open_outcomes(view: str | None = None, *, email: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if email is not None:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": email, "name": email, "email_verified": True}
    at.run()
    for key, value in query.items():
        at.query_params[key] = value
    if view is not None:
        at.query_params["view"] = view
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[tuple[dict[str, object], pd.DataFrame]]:
    """Each chart's spec and data (the datasets Streamlit sends as Arrow)."""
    found = []
    for chart in at.get("vega_lite_chart"):
        frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]
        found.append((json.loads(chart.proto.spec), pd.concat(frames) if frames else pd.DataFrame()))
    return found


def titled(at: AppTest, start: str) -> tuple[dict[str, object], pd.DataFrame]:
    """The one chart whose title starts so."""
    matches = [(spec, data) for spec, data in charts(at) if _title(spec).startswith(start)]
    assert len(matches) == 1, [_title(spec) for spec, _ in charts(at)]
    return matches[0]


def _title(spec: dict[str, object]) -> str:
    title = spec.get("title")
    if title is None and "vconcat" in spec:
        title = spec["vconcat"][0].get("title")  # type: ignore[index]
    return str(title.get("text", "")) if isinstance(title, dict) else str(title or "")


def test_an_agency_admin_sees_fidelity_against_hospital_days_for_every_program(demo: str) -> None:
    at = open_outcomes()
    assert at.selectbox(key="outcomes_agency_measure").value == "hospital_days"
    names = {p.name for p in PLANS}
    # Small panels: every demo program's fidelity totals and its hospital days over time.
    _, every = titled(at, "Every program")
    assert set(every["program"]) == names
    for name in names:
        mine = every[every["program"] == name]
        assert set(mine["what"]) == {"fidelity", "outcome"}, name
    # One scatter per scale, each program named, with Spearman's rho, its interval and n.
    spec, dacts = titled(at, "DACTS programs")
    _, iddt = titled(at, "IDDT programs")
    plotted = set(dacts["program"]) | set(iddt["program"])
    left_out = [c.value for c in at.caption if c.value.startswith("Left out:")]
    assert plotted | {n for n in names if any(n in reason for reason in left_out)} == names
    assert len(plotted) >= 10
    assert any(layer["mark"]["type"] == "text" for layer in spec["layer"])  # the programs named
    rho = [m.value for m in at.markdown if "Spearman's rho" in m.value]
    assert len(rho) == 2 and all("95% CI" in text and "n = " in text for text in rho)
    # The demo's outcomes move with fidelity: fewer hospital days where fidelity is higher.
    assert "Spearman's rho = -" in rho[0]
    assert any("not cause" in w.value for w in at.warning)
    assert any("Following period" in c.value and "scipy.stats.spearmanr" in c.value for c in at.caption)


def test_a_programs_fidelity_over_time_above_an_outcome(demo: str) -> None:
    at = open_outcomes("Program")
    at.selectbox(key="outcomes_program_measure").set_value("housed_pct").run()
    assert not at.exception
    spec, data = titled(at, "Demo")
    assert "vconcat" in spec  # two aligned panels on one time axis
    assert {"Total", "H", "O", "S"} <= set(data["measure"].dropna())  # the total and subscales
    assert data["per_month"].notna().sum() > 12  # years of monthly outcome values


def test_values_entered_are_saved_and_survive_a_reload(demo: str) -> None:
    with open_database(demo) as db:
        program_id = next(p.id for p in list_programs(db, actor=local_admin()) if p.name == "Demo ACT Team 5")
    at = open_outcomes("Enter values", program=str(program_id), period="2026-05")
    form = f"outcomes_form_{program_id}_2026-05"
    at.number_input(key=f"{form}_jail_days").set_value(7.0)
    at.number_input(key=f"{form}_employed_pct").set_value(31.5)
    at.button(key=f"FormSubmitter:{form}-Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Saved 2 change(s)" in s.value for s in at.success)
    again = open_outcomes("Enter values", program=str(program_id), period="2026-05")  # a reload
    assert again.number_input(key=f"{form}_jail_days").value == 7.0
    assert again.number_input(key=f"{form}_employed_pct").value == 31.5
    with open_database(demo) as db:
        stored = {
            v.measure: v.value
            for v in list_values(db, actor=local_admin(), program_id=program_id)
            if v.period == Period(dt.date(2026, 5, 1), PeriodKind.MONTH)
        }
    assert (stored["jail_days"], stored["employed_pct"]) == (7.0, 31.5)  # the demo's other values kept
    assert len(stored) == 8


def test_an_impossible_value_is_not_offered_and_a_bad_period_is_said(demo: str) -> None:
    at = open_outcomes("Enter values", period="2026-13")
    assert any("'2026-13' is not a period" in e.value for e in at.error)


def test_a_program_manager_enters_their_own_programs_outcomes_only(demo: str) -> None:
    at = open_outcomes("Enter values", email=MANAGER)
    assert [o for o in at.selectbox(key="outcomes_enter_program").options] == ["Demo ACT Team 2"]
    tabs = [t.label for t in at.tabs]
    assert "Measures" not in tabs and "Import" in tabs
    agency = open_outcomes("Agency", email=MANAGER)
    _, every = titled(agency, "Every program")
    assert set(every["program"]) == {"Demo ACT Team 2"}
