"""dclab — the Streamlit lab. A thin view over `dclab`; run with `streamlit run app.py`."""
import streamlit as st

from dclab.allocator import retain_freed_memory
from dclab.threads import apply_threads

st.set_page_config(page_title="dclab — dataset condensation lab", page_icon="🧪", layout="wide")
try:
    apply_threads()  # $DCLAB_THREADS caps compute threads; by default jobs use every core torch has
except ValueError as e:
    st.error(str(e))
retain_freed_memory()  # jobs reuse freed activation memory between steps (dclab/allocator.py)

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/condense.py", title="Condense", icon=":material/science:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/multisize.py", title="Multisize", icon=":material/stacked_line_chart:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/folder_open:"),
]

# The sidebar lists exactly these pages, drawn by the script: Streamlit's own page list is off
# (.streamlit/config.toml, client.showSidebarNavigation), since before the first run it shows
# the raw file names of pages/. pages/ holds only pages; what they share lives in ui/.
page = st.navigation(PAGES, position="hidden")
with st.sidebar:
    for p in PAGES:
        st.page_link(p)
page.run()
