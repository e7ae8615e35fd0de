"""The Consensus page. Its body is `app_pages.views.consensus`: imported, so it is compiled once per
process, where a page file is compiled again on every AppTest run (see README, Performance).
"""

from app_pages.views.consensus import render

__all__ = ["render"]

if __name__ == "__main__":  # run as the page's script by st.navigation (app_pages/navigation.py)
    render()
