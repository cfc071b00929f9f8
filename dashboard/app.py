"""cnnlab's dashboard: `streamlit run dashboard/app.py` (the Build, Train and Compare pages)."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="cnnlab", page_icon="🧪", layout="wide")
pages = [
    st.Page("pages/build.py", title="Build", icon=":material/architecture:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/see.py", title="See", icon=":material/visibility:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
]
st.navigation(pages, position="top").run()  # the pages get the whole width
