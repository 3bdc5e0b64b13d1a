"""Facial emotion model explorer: the Streamlit entry point.

    streamlit run app.py

This file only sets up the frame shared by every page (layout, navigation, sidebar);
each page lives in pages/ and calls into emotion_core for everything it computes.
"""

import streamlit as st

from pages.common import sidebar_status

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/dataset:"),
    st.Page("pages/models.py", title="Models", icon=":material/leaderboard:"),
    st.Page("pages/predict.py", title="Predict", icon=":material/photo_camera:"),
    st.Page("pages/analyze.py", title="Analyze", icon=":material/groups:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
]


def main() -> None:
    st.set_page_config(page_title="Emotion model explorer", page_icon=":material/mood:", layout="wide")
    page = st.navigation(PAGES)
    sidebar_status()
    page.run()


main()
