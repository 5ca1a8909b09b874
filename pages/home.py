"""Home: a one-click quick start first, then what the lab does, the device, the data sets and how to
get more of them."""
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
    "well as the full data set, and watch it form."
)
device = resolve_device("auto")

# ---- quick start: first, above the fold ------------------------------------------------------------
with st.container(border=True, key="quick_start_box"):
    st.subheader("Quick start")
    left, right = st.columns([3, 2])
    left.write("Distribution matching (DM) on the embedded 8x8 digits, 10 images per class: about a minute "
               "on a laptop CPU, with the images and the loss curve updating live.")
    if right.button("Start DM on digits (IPC 10)", key="quick_start", type="primary"):
        with user_errors():
            job = job_manager().submit(RunSpec(dataset="digits", method="dm", ipc=10, seed=0, label="quickstart"))
            st.session_state[CURRENT_RUN] = job.id
            st.switch_page("pages/condense.py")
    left.caption("Then: **Compare → Start DC and DM side by side** shows two methods evolving from the same "
                 "initial images, the payoff chart and the coverage animation.")

if HERO.is_file():
    st.image(str(HERO), caption="Real digits (left) versus a condensed set (right), 10 images per class")
st.markdown(
    "Methods: gradient matching (DC, DSA, IDC), distribution matching (DM), multisize condensation (MDC), "
    "unrolled distillation (DD), kernel inducing points (KIP), trajectory matching (MTT); coreset baselines "
    "for comparison. Every accuracy is shown with the protocol that produced it."
)

st.subheader("Device")
st.write(describe_device(device))
if device.type == "cpu":
    st.info("No GPU found: runs use the small `cpu` presets by default, and the side-by-side comparison the "
            "`classroom` preset (a result within minutes). The `paper` presets are meant for a GPU.")

st.subheader("Data sets")
st.dataframe([{"data set": s.name, "available": "yes" if s.available else "no", "where": s.detail}
              for s in all_dataset_status()], hide_index=True)
st.markdown(
    "**More data, offline or online.** Fashion-MNIST (28x28 clothes, a better demo than 8x8 digits) is a "
    "Debian package: `sudo apt-get install dataset-fashion-mnist`; dclab reads it from "
    "`/usr/share/datasets/fashion-mnist` with no further step. MNIST, CIFAR-10/100 and SVHN download "
    "through torchvision on first use when the machine is online (into `$DCLAB_DATA`, default "
    "`~/.cache/dclab/data`), or can be copied there in torchvision's folder layout."
)
