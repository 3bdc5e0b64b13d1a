"""Facial emotion model explorer: the Streamlit entry point.

    streamlit run app.py

This file only sets up the frame shared by every page (layout, navigation, sidebar);
each page lives in views/ (helpers they share in ui/) and calls into emotion_core for everything it computes.
"""

# The Live page's WebRTC stack (aiortc) encrypts video with libsrtp, which crashes the process when
# it is loaded after TensorFlow (TensorFlow exports its BoringSSL symbols to every library loaded
# later); the other pages load TensorFlow, so libsrtp is loaded first, here (11 ms).
import pylibsrtp  # noqa: F401
import streamlit as st

from ui.common import PAGES, sidebar_status


def main() -> None:
    st.set_page_config(page_title="Emotion model explorer", page_icon=":material/mood:", layout="wide")
    page = st.navigation([st.Page(entry.path, title=entry.title, icon=entry.icon, default=entry == PAGES[0])
                          for entry in PAGES])
    sidebar_status()
    page.run()


main()
