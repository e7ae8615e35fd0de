"""What every page shares of the app's data and who is acting: the database and scales (one per
process), the acting user and their sign-in, the review a page works on (kept in the URL so a
reload returns to it), and the analytics data the pages cache. The widgets are in
app_pages/widgets.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app_pages.markup import md
from app_pages.page_cache import session_kept
from app_pages.widgets import keep_param, page_start, show_error
from scales import ScaleRegistry, TotalMethod, UnknownScaleError
from services.access import LOCAL_ADMIN, Action, Actor, can, visible_program_ids
from services.database import Database, open_database
from services.errors import FidelityError
from services.review_reads import cached
from services.reviews import ReviewSummary, ReviewView, count_reviews, get_review, list_reviews
from services.settings import get_registry, get_settings
from services.users import actor_for_email

T = TypeVar("T")

LOCAL_ACTOR = LOCAL_ADMIN.name
ACTOR_KEY = "fidelity_actor"  # the acting user of this run, set by sign_in() in app.py
AUTH_KEY = "fidelity_auth"  # whether sign-in is configured, as sign_in() found it in this run


def scale_registry() -> ScaleRegistry:
    return get_registry()  # cached per set of scale folders


def database() -> Database:
    """One engine per server process and URL; migrated to the newest schema on first use."""
    # The folder and .env looked at again at most once a VERSION_MAX_AGE (the variables always).
    settings = get_settings(files_max_age=VERSION_MAX_AGE)
    return _database_for(settings.database_url, settings.integrity_secret)


@lru_cache(maxsize=8)  # not st.cache_resource: its lookup costs more than the rest of a rerun's shell
def _database_for(url: str, integrity_key: str | None) -> Database:
    """`integrity_key` is part of the cache key: a changed FIDELITY_INTEGRITY_KEY takes effect."""
    return open_database(url, registry=scale_registry())


# ---- who is acting ----------------------------------------------------------------------------


def auth_configured() -> bool:
    """Whether `[auth]` is in .streamlit/secrets.toml: then everyone must sign in (OIDC)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all (StreamlitSecretNotFoundError)
        return False


def sign_in() -> Actor:
    """The acting user of this run (app.py calls it before building the navigation).

    Without `[auth]`: the local admin. With it: the stored user whose e-mail the identity
    provider signed in; until then the sign-in page, and for an address that is not an active
    user a "not registered" page; both stop the run, so no page and no data is shown.

    Whether sign-in is configured and who the address's user is are kept in the session for
    `VERSION_MAX_AGE` (`session_kept`): every click reruns the app, and reading both each time
    cost about as much as an empty page. A role change or a withdrawn access made through this
    server takes effect at once, another process's or a new `[auth]` within that second.
    """
    # st.secrets looks for files on each read
    configured = session_kept(AUTH_CONFIGURED_KEY, None, 0, auth_configured, max_age=VERSION_MAX_AGE)
    st.session_state[AUTH_KEY] = configured
    if not configured:
        who = LOCAL_ADMIN
    else:
        user = st.user.to_dict()  # read once: each read of st.user looks for the secrets again
        if not user.get("is_logged_in"):
            _sign_in_page()
            st.stop()
        email = user.get("email")
        # Google sends email_verified; Entra ID sends no such claim, but its optional claim
        # xms_edov says the email's domain owner verified it (README, sign-in).
        verified = email_verified(user.get("email_verified")) or email_verified(user.get("xms_edov"))
        found = None
        if isinstance(email, str) and verified:
            db = database()  # keyed by address: another sign-in asks again
            found = session_kept(
                SIGNED_IN_KEY, email, db.writes, lambda: actor_for_email(db, email), max_age=VERSION_MAX_AGE
            )
        if found is None:
            _not_registered_page(email if isinstance(email, str) else None)
            st.stop()
        who = found
    st.session_state[ACTOR_KEY] = who
    return who


AUTH_CONFIGURED_KEY = "fidelity_auth_configured"  # whether [auth] is configured, kept
SIGNED_IN_KEY = "fidelity_signed_in"  # the signed-in address's user (or None), kept


def email_verified(claim: object) -> bool:
    """Whether the identity provider says it verified the address: only the boolean true or
    the text "true" (in any case) says so. "false" is a non-empty string, which Python takes
    as true; a missing claim, 1 or "1" prove nothing, so they are refused too."""
    return claim is True or (isinstance(claim, str) and claim.casefold() == "true")


def actor() -> Actor:
    """Who is acting in this run; every service call passes it on (`actor=actor()`)."""
    found = st.session_state.get(ACTOR_KEY)
    return found if isinstance(found, Actor) else sign_in()


def _providers() -> list[str | None]:
    """The sign-in providers in `[auth]`: None for one configured directly in it, else the
    names of its provider sections ([auth.google], [auth.microsoft], ...)."""
    section = st.secrets.get("auth", {})
    if "client_id" in section or "server_metadata_url" in section:
        return [None]
    names = [name for name, value in section.items() if isinstance(value, Mapping)]
    return list(names) or [None]


def _sign_in_page() -> None:
    st.title("ebp-fidelity")
    st.markdown("Fidelity reviews of ACT and IDDT teams. **Sign in** with your organization's account.")
    for provider in _providers():
        label = "Sign in" if provider is None else f"Sign in with {provider.capitalize()}"
        key = "sign_in" if provider is None else f"sign_in_{provider}"
        if st.button(label, type="primary", icon=":material/login:", key=key):
            st.login(provider)  # None: the provider set directly in [auth]
    st.caption("Only people registered by your agency admin can use this app.")


def _not_registered_page(email: str | None) -> None:
    st.title("Not registered")
    who = f"**{md(email)}**" if email else "Your account (the identity provider sent no verified address)"
    st.error(
        f"{who} is not registered for this app, or its access has been withdrawn. "
        "Ask your agency admin to add you (`fidelity users add EMAIL --role ROLE`).",
        icon=":material/person_off:",
    )
    if st.button("Log out", icon=":material/logout:", key="sign_out_unregistered"):
        st.logout()


def identity_banner() -> None:
    """Who is acting, in the sidebar of every page: the signed-in user, their role and a log-out
    button; without sign-in, plainly that everyone is the local admin; for admins, the database.

    One Markdown element (and the log-out button when there is sign-in), not a bordered, keyed
    container around them: every element costs every rerun of every page (README, Performance).
    """
    me = actor()
    configured = st.session_state.get(AUTH_KEY)
    if configured is None:
        configured = auth_configured()
    if not configured:
        text = (
            f":material/lock_open: **No sign-in is configured:** everyone who opens this app acts as "
            f"the **{LOCAL_ADMIN.name}**, with full access. To require sign-in, see *Users, roles and "
            "sign-in* in the README."
        )
    else:
        text = f":material/account_circle: Signed in as **{md(me.label)}**  \n{me.role_text.capitalize()}"
    if can(me, Action.MANAGE_USERS):  # where the data lives is the admins' business
        text += f"\n\nDatabase `{database().display_url}`"
    st.sidebar.markdown(text)
    if configured and st.sidebar.button("Log out", icon=":material/logout:", key="sign_out"):
        st.logout()


def allowed(action: Action) -> bool:
    """Whether the acting user's role may take the action at all: for hiding what the services
    would refuse anyway."""
    return can(actor(), action)


def review_label(r: ReviewSummary, registry: ScaleRegistry | None = None) -> str:
    """`registry`: the database's (a list passes it once; else it is looked up)."""
    score = ""
    if r.total_mean is not None:
        # The figure the band reads: IDDT's bands read the sum, DACTS's the mean.
        figure = (
            f"sum {r.total_sum}"
            if _banded_by_sum(r, registry or database().registry)
            else f"mean {r.total_mean:.2f}"
        )
        score = f" · {figure}" + (f" · {r.band}" if r.band else "")
        if r.band and r.rated is not None and r.items and r.rated < r.items:
            score += f" (⚠ {r.items - r.rated} of {r.items} items unrated)"
    amend = f" (amendment {r.amendment_number})" if r.amendment_number else ""
    return (
        f"#{r.id} {r.program} · {r.scale_id} {r.scale_version} · {r.review_date}{amend} · {r.status}{score}"
    )


def _banded_by_sum(r: ReviewSummary, registry: ScaleRegistry) -> bool:
    try:
        scale = registry.get(r.scale_id, r.scale_version)  # published ones too
    except UnknownScaleError:  # its scale file is gone: the list says so in its own column
        return False
    return scale.scoring.method is TotalMethod.SUM


def choose_review(*, statuses: tuple[str, ...] | None = None, label: str = "Review") -> ReviewView | None:
    """The review this page works on: from the URL (?review=ID), else the one last open, else
    the newest; another is chosen in a popover labelled with the review open.

    The popover's list is drawn only while it is open (its page number, the page's caption and
    a choice of CHOOSER_PAGE reviews: two widgets and 50 labels on every rerun of the Rate,
    Consensus and Results pages otherwise), and is one page of the newest reviews, with page
    numbers for the rest: listing all 20,000 reviews of an agency (the integrity gate and a
    label each) took half a second on every rerun."""
    total = kept(count_reviews, status=statuses)
    if not total:
        return None
    from_url = st.query_params.get("review")
    wanted = from_url or st.session_state.get("current_review")
    try:
        wanted_id = int(wanted) if wanted is not None else None
    except ValueError:
        wanted_id = None
    labels: dict[int, str] = {}
    if wanted_id is not None:  # on any page of the list, or not for this user (then not found)
        labels = kept(_chooser_page, status=statuses, review_id=wanted_id)[1]
    if wanted_id not in labels:
        if from_url is not None:  # a link or bookmark to a review this page cannot show (to this user)
            st.info(f"Review {from_url} cannot be opened here; choose another below.", icon=":material/info:")
        labels = kept(_chooser_page, status=statuses, limit=CHOOSER_PAGE, offset=0)[1]
        wanted_id = next(iter(labels))  # the newest
    chosen: int = wanted_id
    box = st.popover(
        md(f"{label}: {labels[chosen]}"), icon=":material/swap_horiz:", key=CHOOSER_OPEN, on_change="rerun"
    )
    if box.open:
        with box:
            start = page_start(total, CHOOSER_PAGE, "choose_review_page", "reviews")
            listed = kept(_chooser_page, status=statuses, limit=CHOOSER_PAGE, offset=start)[1]
            ids = list(listed) if chosen in listed else [chosen, *listed]
            every = {**labels, **listed}
            st.selectbox(
                label,
                ids,
                index=ids.index(chosen),
                format_func=every.__getitem__,
                key=CHOOSER_PICK,
                on_change=_review_picked,
            )
    keep_param("review", str(chosen))
    st.session_state["current_review"] = chosen
    try:
        return kept(get_review, chosen)
    except FidelityError as exc:
        show_error(exc)
        return None


CHOOSER_OPEN = "choose_review_open"  # the chooser popover's open state
CHOOSER_PICK = "choose_review_pick"  # the review picked in it


def _review_picked() -> None:
    """The review picked opens (in the URL, which a link would set too; choose_review then keeps it
    as the one last open) and the popover closes: a callback, so the rerun that follows draws it."""
    picked = st.session_state.get(CHOOSER_PICK)
    if picked is not None:
        st.query_params["review"] = str(picked)
    st.session_state[CHOOSER_OPEN] = False


CHOOSER_PAGE = 50  # reviews a chooser lists at a time


def _chooser_page(
    db: Database, *, actor: Actor, **filters: Any
) -> tuple[list[ReviewSummary], dict[int, str]]:
    """Reviews for a chooser and their labels, made once per change of the data (kept): shared by
    the acting user's sessions, so never changed."""
    reviews = list_reviews(db, actor=actor, **filters)
    registry = db.registry
    return reviews, {r.id: review_label(r, registry) for r in reviews}


def kept(read: Callable[..., T], *args: Hashable, who: Actor | None = None, **kwargs: Any) -> T:
    """`read(database(), *args, actor=who or actor(), **kwargs)`, a read-only service call, kept
    until what the review pages read changes (services.review_reads): a change made by this
    server shows at once, another process's within VERSION_MAX_AGE."""
    return cached(database(), _max_age("review_pages"), read, *args, actor=who or actor(), **kwargs)


def analytics_version(db: Database) -> str:
    """The version the analytics caches are keyed on: the data's fingerprint and the acting
    user's analytics scope, so a cached frame or chart is never shown to another scope."""
    from services.analytics import data_version  # pandas-heavy: imported by the pages that use it

    return f"{data_version(db, max_age=_max_age('analytics'))}|scope={_analytics_scope(actor())}"


# A rerun (each click) asks the database for the data version at most this often; a change this
# server makes shows at once, another process's within this many seconds (README, Performance).
VERSION_MAX_AGE = 1.0


def _max_age(version: str) -> float:
    """VERSION_MAX_AGE, but 0 the first time a session asks for `version`: opening or reloading a
    page (a new session) always shows the data as it is now, whoever changed it."""
    asked = f"_fidelity_asked_{version}_version"
    if st.session_state.get(asked):
        return VERSION_MAX_AGE
    st.session_state[asked] = True
    return 0.0


@lru_cache(maxsize=64)  # asked on every rerun; an Actor is immutable, its programs part of it
def _analytics_scope(who: Actor) -> str:
    visible = visible_program_ids(who, Action.READ_ANALYTICS)  # no SQL expression built to test for None
    if visible is None:
        return "all"
    return ",".join(str(i) for i in sorted(visible)) or "none"


@st.cache_data(show_spinner="Loading final reviews…", max_entries=64)
def final_ratings(
    url: str,
    version: str,
    _db: Database,
    *,
    program_id: int | None = None,
    scale_id: str | None = None,
    latest: int | None = None,
    evidence: bool = True,
    reviewed_from: dt.date | None = None,
    reviewed_to: dt.date | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The final reviews' ratings the acting user may see, in one query, without reviews whose
    scale file is missing or changed or that the integrity gate left out (the messages name
    them); cached per database URL and `analytics_version` (so one
    query per change of the data and scope). The keywords narrow the query down in the
    database (see services.analytics_data.finalized_ratings): a page loads what it shows."""
    from services.analytics import finalized_ratings, left_out, scale_problems  # pandas-heavy, as above

    who = actor()
    if not version.endswith(f"|scope={_analytics_scope(who)}"):
        raise ValueError("final_ratings takes the version from analytics_version(db)")
    ratings = finalized_ratings(
        _db,
        actor=who,
        program_id=program_id,
        scale_id=scale_id,
        latest=latest,
        evidence=evidence,
        reviewed_from=reviewed_from,
        reviewed_to=reviewed_to,
    )
    frame, problems = scale_problems(ratings, _db.registry)
    # The integrity gate's warnings first (a review left out, named): cached with the frame, so a
    # page drawn from the cache shows them too. Escaped: they name programs.
    return frame, [*(md(message) for message in left_out(ratings)), *problems]
