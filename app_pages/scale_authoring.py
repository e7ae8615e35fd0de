"""The Scales page's authoring mode (agency admins): create a scale or a new version of one
(from scratch, by copying a loaded scale, or by importing a scale YAML file or a REDCap data
dictionary), edit it in forms with the scale loader's own messages after every save, preview it
as a reviewer will see it, and publish it. Drafts are saved in the database at every change, so
nothing is lost on a reload; a published version is read-only (services.scale_library).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app_pages import scale_forms as forms
from app_pages.markup import md
from app_pages.shared import actor, database
from app_pages.widgets import show_error
from scales import Scale
from scales.loader import ScaleFileError, load_yaml_data
from services import scale_library as lib
from services.errors import FidelityError

CHOSEN = "authoring_scale"  # the id of the authored scale being edited
NOTICE = "authoring_notice"
OPEN = "authoring_open"  # the authored scale to show on the next run (set after a save)
NEW = 0


def _run(action: Callable[[], lib.AuthoredScaleView]) -> lib.AuthoredScaleView | None:
    try:
        return action()
    except FidelityError as exc:
        show_error(exc)
        return None


def _open(view: lib.AuthoredScaleView, notice: str) -> None:
    st.session_state[OPEN] = view.id  # the selectbox's own key cannot be set after it is drawn
    st.session_state[NOTICE] = notice
    st.rerun()


def render_authoring(preview: Callable[[Scale], None]) -> None:
    """The authoring mode; `preview` draws a scale as the Scales page shows it to reviewers."""
    db = database()
    try:
        views = lib.list_authored(db, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        return
    labels = {NEW: "➕ New scale or version…"} | {
        v.id: f"{v.scale_id} {v.version} · {'published' if v.is_published else 'draft'} · {v.title}"
        for v in views
    }
    if OPEN in st.session_state:
        st.session_state[CHOSEN] = st.session_state.pop(OPEN)
    if st.session_state.get(CHOSEN) not in labels:
        st.session_state[CHOSEN] = NEW
    chosen = st.selectbox("Authored scale", list(labels), format_func=labels.__getitem__, key=CHOSEN)
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.success(md(notice), icon=":material/check:")
    if chosen == NEW:
        _create_section()
        return
    view = next(v for v in views if v.id == chosen)
    if view.is_published:
        _published_section(view, preview)
    else:
        _draft_section(view, preview)


# ---- creating ---------------------------------------------------------------------------------------


def _create_section() -> None:
    db = database()
    copy_tab, blank_tab, yaml_tab, redcap_tab = st.tabs(
        ["Copy a scale", "From scratch", "Import a scale file", "Import a REDCap dictionary"]
    )
    with copy_tab:
        scales = db.registry.all()
        with st.form("authoring_copy"):
            base = st.selectbox(
                "Scale to copy",
                [s.key for s in scales],
                format_func=lambda k: f"{k} · {db.registry.get(*k.split('@', 1)).title}",
            )
            left, right = st.columns(2)
            new_id = left.text_input(
                "New scale id", help="The same id with a new version makes a new version of it."
            )
            new_version = right.text_input("New version")
            if st.form_submit_button("Create draft from copy"):
                scale = db.registry.get(*base.split("@", 1))
                text = lib.copy_scale_text(
                    scale, new_id.strip() or scale.id, new_version.strip() or scale.version
                )
                view = _run(lambda: lib.new_draft(db, text, origin=f"copy of {base}", actor=actor()))
                if view is not None:
                    _open(view, f"Draft {view.scale_id} {view.version} created from a copy of {base}.")
    with blank_tab, st.form("authoring_blank"):
        left, right = st.columns(2)
        new_id = left.text_input("Scale id", key="authoring_blank_id")
        new_version = right.text_input("Version", value="1.0", key="authoring_blank_version")
        title = st.text_input("Title", key="authoring_blank_title")
        if st.form_submit_button("Create empty draft"):
            text = lib.blank_scale_text(new_id.strip(), new_version.strip(), title.strip() or new_id.strip())
            view = _run(lambda: lib.new_draft(db, text, origin="new", actor=actor()))
            if view is not None:
                _open(view, f"Draft {view.scale_id} {view.version} created.")
    with yaml_tab, st.form("authoring_yaml_import"):
        upload = st.file_uploader("Scale file (.yaml)", type=["yaml", "yml"], key="authoring_yaml_file")
        if st.form_submit_button("Import as draft") and upload is not None:
            raw = upload.getvalue()
            view = _run(lambda: lib.draft_from_yaml(db, raw, upload.name, actor=actor()))
            if view is not None:
                _open(view, f"Draft {view.scale_id} {view.version} imported from {upload.name}.")
    with redcap_tab, st.form("authoring_redcap_import"):
        upload = st.file_uploader("REDCap data dictionary (.csv)", type=["csv"], key="authoring_redcap_file")
        left, right = st.columns(2)
        scale_id = left.text_input(
            "Scale id (if the dictionary does not name one)", key="authoring_redcap_id"
        )
        version = right.text_input("Version (if it does not name one)", key="authoring_redcap_version")
        if st.form_submit_button("Import as draft") and upload is not None:
            text = upload.getvalue().decode("utf-8-sig", errors="replace")
            view = _run(
                lambda: lib.draft_from_redcap(
                    db, text, upload.name, scale_id=scale_id.strip(), version=version.strip(), actor=actor()
                )
            )
            if view is not None:
                _open(view, f"Draft {view.scale_id} {view.version} imported from {upload.name}.")


# ---- a draft --------------------------------------------------------------------------------------


def _draft_section(view: lib.AuthoredScaleView, preview: Callable[[Scale], None]) -> None:
    st.caption(
        f"Draft {view.scale_id} {view.version} · {view.origin} · saved by {view.updated_by} "
        f"at {view.updated_at:%Y-%m-%d %H:%M} UTC · revision {view.revision}"
    )
    if view.problems:
        with st.container(border=True):
            st.markdown(
                f"**{len(view.problems)} problem(s)** to fix before publishing (the scale loader's messages):"
            )
            for problem in view.problems:
                st.error(md(problem), icon=":material/error:")
    else:
        st.success(
            "The scale loader accepts this draft: it can be previewed and published.", icon=":material/check:"
        )

    def save(data: dict[str, Any]) -> None:
        _save(view, forms.dump(data))

    data = _data(view.source_text)
    key = f"draft{view.id}r{view.revision}"
    tabs = [
        "Scale",
        "Subscales",
        "Items",
        "Anchors",
        "Computed rules",
        "Scoring and bands",
        "YAML",
        "Preview",
    ]
    derived = data is not None and "based_on" in data
    if derived:
        st.info("A derived scale (based_on) lists only its changes: edit it as YAML.", icon=":material/info:")
        tabs = ["Scale", "YAML", "Preview"]
    shown = dict(zip(tabs, st.tabs(tabs), strict=True))
    if data is None:
        with shown["Scale"]:
            st.warning("The text cannot be read as a scale mapping: fix it in the YAML tab.")
    else:
        with shown["Scale"]:
            forms.header_form(data, key, save)
        sections = [
            ("Subscales", forms.subscales_form),
            ("Items", forms.items_form),
            ("Anchors", forms.anchors_form),
            ("Computed rules", forms.compute_form),
            ("Scoring and bands", forms.scoring_form),
        ]
        for name, form in sections:
            if name in shown:
                with shown[name]:
                    form(data, key, save)
    with shown["YAML"], st.form(f"{key}_yaml"):
        text = st.text_area("Scale file", value=view.source_text, height=480, key=f"{key}_yaml_text")
        if st.form_submit_button("Save YAML"):
            _save(view, text)
    with shown["Preview"]:
        if view.scale is None:
            st.info("The preview appears once the loader accepts the draft.")
        else:
            preview(view.scale)
    _publish_section(view)


def _data(text: str) -> dict[str, Any] | None:
    try:
        data = load_yaml_data(text, "draft")
    except ScaleFileError:
        return None
    return data if isinstance(data, dict) else None


def _save(view: lib.AuthoredScaleView, text: str) -> None:
    saved = _run(
        lambda: lib.save_draft(database(), view.id, text, expected_revision=view.revision, actor=actor())
    )
    if saved is not None:
        found = f"{len(saved.problems)} problem(s) to fix" if saved.problems else "no problems"
        _open(saved, f"Saved draft {saved.scale_id} {saved.version}: {found}.")


def _publish_section(view: lib.AuthoredScaleView) -> None:
    st.divider()
    st.subheader("Publish")
    st.markdown(
        "A published version never changes (to change it, copy it to a new version) and is offered "
        "to every new review. Drafts are never offered."
    )
    with st.form(f"publish{view.id}"):
        sure = st.checkbox(
            f"Publish {view.scale_id} {view.version}: I have previewed it", key=f"publish_sure{view.id}"
        )
        if st.form_submit_button("Publish", type="primary", disabled=bool(view.problems)):
            if not sure:
                st.warning("Tick the box to confirm first.")
                return
            published = _run(lambda: lib.publish_draft(database(), view.id, actor=actor()))
            if published is not None:
                _open(
                    published,
                    f"Published {published.scale_id} {published.version} ({published.content_hash}): "
                    "new reviews can use it now.",
                )


def _published_section(view: lib.AuthoredScaleView, preview: Callable[[Scale], None]) -> None:
    when = f"{view.published_at:%Y-%m-%d %H:%M} UTC" if view.published_at else "?"
    st.info(
        f"Published by {view.published_by} at {when} · content {view.content_hash}. A published "
        "version never changes: copy it to make a new version.",
        icon=":material/lock:",
    )
    if view.scale is not None:
        preview(view.scale)
    else:
        st.error("This published version is not loaded (see the scale problems above).")
