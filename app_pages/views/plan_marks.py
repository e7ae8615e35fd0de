"""When a program's action plan entries were opened and closed, marked on its drift chart: a
layer of rules (orange, dotted: opened; green, dashed: closed) with a point at the top whose
tooltip names the items. Read again at least once a second (plans change without a new final
review, which is what the drift chart's cache follows) and added to a copy of the cached chart's
spec."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from app_pages.page_cache import session_kept
from app_pages.shared import VERSION_MAX_AGE, actor, allowed, database
from services import action_plans
from services.access import Action, Actor
from services.action_plan_views import PlanEvent
from services.database import Database
from services.errors import FidelityError

__all__ = ["MARK_CAPTION", "plan_layers", "with_plan_marks"]

OPENED_COLOR, CLOSED_COLOR = "#D55E00", "#009E73"  # Okabe-Ito vermillion and bluish green
MARK_CAPTION = (
    "Action plans: orange dotted lines mark the days entries were opened, green dashed lines the days "
    "entries were closed (done or dropped); point at a line's top for the items."
)


def plan_layers(events: list[PlanEvent]) -> list[dict[str, Any]]:
    """Vega-Lite layers marking the events, one rule and one point per day and kind."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in events:
        kind = "opened" if event.kind == "opened" else "closed"
        label = event.item_id if event.kind in ("opened", "done") else f"{event.item_id} (dropped)"
        grouped[(event.on.isoformat(), kind)].append(label)
    layers: list[dict[str, Any]] = []
    for kind, color, dash in (("opened", OPENED_COLOR, [2, 3]), ("closed", CLOSED_COLOR, [6, 3])):
        values = [
            {"plan_day": day, "plan_items": f"{len(items)} {kind}: {', '.join(items)}"}
            for (day, k), items in sorted(grouped.items())
            if k == kind
        ]
        if not values:
            continue
        x = {"field": "plan_day", "type": "temporal"}
        tooltip = [
            {"field": "plan_day", "type": "temporal", "title": "Action plan", "format": "%Y-%m-%d"},
            {"field": "plan_items", "type": "nominal", "title": "Entries"},
        ]
        layers.append(
            {
                "data": {"values": values},
                "mark": {"type": "rule", "color": color, "strokeDash": dash, "strokeWidth": 1.6},
                "encoding": {"x": x, "tooltip": tooltip},
            }
        )
        layers.append(
            {
                "data": {"values": values},
                "mark": {
                    "type": "point",
                    "shape": "triangle-down",
                    "filled": True,
                    "size": 90,
                    "color": color,
                },
                "encoding": {"x": x, "y": {"value": 4}, "tooltip": tooltip},
            }
        )
    return layers


def with_plan_marks(spec: dict[str, Any], program_id: int) -> tuple[dict[str, Any], bool]:
    """The drift chart's spec with the program's plan events layered on its (top) chart; the
    spec unchanged (and False) when there are none or the viewer may not see plans.

    Kept in the session for `VERSION_MAX_AGE` per chart, program and viewer (reading the events
    cost a third of the section's rerun): a plan saved through this server shows at once,
    another process's within that second."""
    if not allowed(Action.READ_PLANS):
        return spec, False
    db, who = database(), actor()
    # The spec itself is in the key (by identity: it is kept, so its id is not reused).
    return session_kept(
        MARKS_KEY,
        (_Same(spec), program_id, who),
        db.writes,
        lambda: _marked(spec, program_id, db, who),
        max_age=VERSION_MAX_AGE,
    )


MARKS_KEY = "drift_plan_marks"


class _Same:
    """Equal to another only when both hold the very same object."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


def _marked(spec: dict[str, Any], program_id: int, db: Database, who: Actor) -> tuple[dict[str, Any], bool]:
    try:
        events = action_plans.program_events(db, program_id, actor=who)
    except FidelityError:
        return spec, False
    layers = plan_layers(events)
    if not layers:
        return spec, False
    marked = copy.copy(spec)
    if "layer" in marked:
        marked["layer"] = [*marked["layer"], *layers]
    elif "vconcat" in marked and "layer" in marked["vconcat"][0]:
        top = copy.copy(marked["vconcat"][0])
        top["layer"] = [*top["layer"], *layers]
        marked["vconcat"] = [top, *marked["vconcat"][1:]]
    else:
        return spec, False
    return marked, True
