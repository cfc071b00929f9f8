"""cnnlab's dashboard: `streamlit run dashboard/app.py` (Build, Train, Compare, See, Lessons and the tour)."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import tour  # noqa: E402 (once the project is on the path)

st.set_page_config(page_title="cnnlab", page_icon="🧪", layout="wide")
pages = {
    "build": st.Page("pages/build.py", title="Build", icon=":material/architecture:", default=True),
    "train": st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    "compare": st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    "see": st.Page("pages/see.py", title="See", icon=":material/visibility:"),
    "lessons": st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
}
navigation = st.navigation(list(pages.values()), position="top")  # the pages get the whole width
st.html("<style>[data-testid='stMainBlockContainer'] {padding-top: 1.5rem}</style>")  # no empty band on top
tour.panel(pages)
navigation.run()
