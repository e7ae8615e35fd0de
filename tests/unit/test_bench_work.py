"""The page benchmark's work figure (bench/page_cases.py): the calls a rerun makes, counted the
same on every run, growing with what the page draws, and no profiler left behind."""

from __future__ import annotations

import threading

from streamlit.testing.v1 import AppTest

from bench.page_cases import EMPTY_PAGE, calls_per_rerun

BUTTONS = "import streamlit as st\n\nst.title('Ten buttons')\nfor i in range(10):\n    st.button(f'b{i}')\n"


def test_a_reruns_calls_are_counted_the_same_each_time_and_grow_with_the_page() -> None:
    empty = AppTest.from_string(EMPTY_PAGE, default_timeout=60)
    buttons = AppTest.from_string(BUTTONS, default_timeout=60)
    empty.run()
    buttons.run()
    counted = calls_per_rerun(empty.run)
    assert counted > 100  # the script thread's calls are seen, not only this thread's
    assert calls_per_rerun(empty.run) == counted  # a count, not a time: the same again
    assert calls_per_rerun(buttons.run) > counted + 10 * 50  # each button is work on every rerun
    assert threading.getprofile() is None  # nothing left to slow what runs next
    assert not buttons.exception and len(buttons.button) == 10
