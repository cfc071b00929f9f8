"""cnnlab's dashboard: `streamlit run dashboard/app.py` (Build, Train, Compare, See, Lessons and the tour).

In class mode ($CNNLAB_CLASS_CONFIG, set by `cnnlab dashboard --class FILE`) a visitor nobody
identified gets only the config's visitor pages (and no tour), and the signed-in user's name and role
show at the top.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnnlab import ConfigError  # noqa: E402 (once the project is on the path)
from cnnlab.classroom import active_class  # noqa: E402
from dashboard import identity, tour  # noqa: E402
from dashboard.text import literal  # noqa: E402

st.set_page_config(page_title="cnnlab", page_icon="🧪", layout="wide")
# The pages' folder is not named `pages/`: Streamlit would take such a folder for a multipage app of the
# old kind, and a server's first visitor opening /train directly would get that page alone, without
# this script (no navigation, no identity, no visitor rules).
pages = {
    "build": st.Page("views/build.py", title="Build", icon=":material/architecture:", default=True),
    "train": st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    "compare": st.Page("views/compare.py", title="Compare", icon=":material/compare:"),
    "see": st.Page("views/see.py", title="See", icon=":material/visibility:"),
    "lessons": st.Page("views/lessons.py", title="Lessons", icon=":material/school:"),
}
try:
    config = active_class()
except ConfigError as exc:
    st.error(literal(exc))
    st.stop()
visitor = False
if config is not None:
    user = identity.actor()
    with st.container(key="identity"):
        if user is None:
            visitor = True
            st.caption("Visitor: read-only" + (", sign in to train and compare runs." if config.identity.oidc
                                              else "."))
            if config.identity.oidc:
                st.button("Sign in", key="login", on_click=st.login)
            pages = {stem: page for stem, page in pages.items() if page.title in config.visitor_pages}
        else:
            st.caption(literal(f"Signed in as {user.name} ({user.role})"))
            if config.identity.oidc:
                st.button("Sign out", key="logout", on_click=st.logout)
if not pages:
    st.info("Sign in to use cnnlab.")
    st.stop()
navigation = st.navigation(list(pages.values()), position="top")  # the pages get the whole width
# the page starts just below the top navigation bar (about 3.75rem), without Streamlit's empty band
st.html("<style>[data-testid='stMainBlockContainer'] {padding-top: 4.5rem}"
        # a projector's 768 px: the title takes less of the height
        "@media (max-height: 820px) {h1 {font-size: 2rem !important; padding: 0.25rem 0 !important}"
        "[data-testid='stMetricValue'] {font-size: 1.75rem}}</style>")
if not visitor:  # the tour's steps open every page
    tour.panel(pages)
try:
    navigation.run()
finally:  # also when the page stopped early (st.stop)
    tour.keep_in_link()
