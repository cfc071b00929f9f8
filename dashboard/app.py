"""cnnlab's dashboard: `streamlit run dashboard/app.py` (the Build, Train, Compare, See and Lessons pages).

In class mode ($CNNLAB_CLASS_CONFIG, set by `cnnlab dashboard --class FILE`) a visitor nobody
identified gets only the config's visitor pages, and the signed-in user's name and role show at the top.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnnlab import ConfigError  # noqa: E402 (after the path is set)
from cnnlab.classroom import active_class  # noqa: E402
from dashboard import identity  # noqa: E402
from dashboard.text import literal  # noqa: E402

st.set_page_config(page_title="cnnlab", page_icon="🧪", layout="wide")
pages = [
    st.Page("pages/build.py", title="Build", icon=":material/architecture:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/see.py", title="See", icon=":material/visibility:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
]
try:
    config = active_class()
except ConfigError as exc:
    st.error(literal(exc))
    st.stop()
if config is not None:
    user = identity.actor()
    with st.container(key="identity"):
        if user is None:
            st.caption("Visitor: read-only" + (", sign in to train and compare runs." if config.identity.oidc
                                              else "."))
            if config.identity.oidc:
                st.button("Sign in", key="login", on_click=st.login)
            pages = [page for page in pages if page.title in config.visitor_pages]
        else:
            st.caption(literal(f"Signed in as {user.name} ({user.role})"))
            if config.identity.oidc:
                st.button("Sign out", key="logout", on_click=st.logout)
if not pages:
    st.info("Sign in to use cnnlab.")
    st.stop()
st.navigation(pages, position="top").run()  # the pages get the whole width
