"""ebp-fidelity: the Streamlit app. `streamlit run app.py` starts it on the embedded default.

The pages, and which of them each role may use, are in app_pages/navigation.py.
"""

from app_pages.navigation import run

run()
