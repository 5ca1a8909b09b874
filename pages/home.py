"""Home: what the lab does, the device, the data sets, and a one-click quick start."""
from pathlib import Path

import streamlit as st

from dclab.data.status import all_dataset_status
from dclab.device import describe_device, resolve_device
from dclab.jobs import RunSpec
from ui.state import CURRENT_RUN, job_manager, user_errors

HERO = Path(__file__).resolve().parents[1] / "assets" / "real_vs_condensed.png"

st.title("dclab — dataset condensation lab")
st.markdown(
    "Learn a **tiny synthetic training set** (1–50 images per class) that trains a network almost as "
    "well as the full data set, and watch it form. Methods: gradient matching (DC, DSA), distribution "
    "matching (DM), multisize condensation (MDC) and more; coreset baselines for comparison. Every "
    "accuracy is shown with the protocol that produced it."
)
if HERO.is_file():
    st.image(str(HERO), caption="Real digits (left) versus a condensed set (right), 10 images per class")

device = resolve_device("auto")
st.subheader("Device")
st.write(describe_device(device))
if device.type == "cpu":
    st.info("No GPU found: runs use the small `cpu` presets by default (e.g. DM on digits: a few "
            "hundred iterations per minute). The `paper` presets are meant for a GPU.")

st.subheader("Data sets")
st.dataframe([{"data set": s.name, "available": "yes" if s.available else "no", "where": s.detail}
              for s in all_dataset_status()], hide_index=True)

st.subheader("Quick start")
st.write("Distribution matching (DM) on the embedded 8x8 digits, 10 images per class, `cpu` preset.")
if st.button("Start DM on digits (IPC 10)", key="quick_start", type="primary"):
    with user_errors():
        job = job_manager().submit(RunSpec(dataset="digits", method="dm", ipc=10, seed=0, label="quickstart"))
        st.session_state[CURRENT_RUN] = job.id
        st.switch_page("pages/condense.py")
