"""dclab — the Streamlit lab. A thin view over `dclab`; run with `streamlit run app.py`."""
import streamlit as st

st.set_page_config(page_title="dclab — dataset condensation lab", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/condense.py", title="Condense", icon="🧪"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/multisize.py", title="Multisize", icon="📈"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="🎯"),
    st.Page("pages/runs.py", title="Runs", icon="🗂️"),
]

st.navigation(PAGES).run()
