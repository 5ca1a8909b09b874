"""Runs: every run folder with status and key numbers; open, resume, delete, export, import a .pt."""
from __future__ import annotations

import io
import tempfile
from dataclasses import replace
from pathlib import Path

import streamlit as st

from dclab.data import list_datasets, load_dataset
from dclab.runs import RunDir
from dclab.runs.export import evolution_gif_bytes, imagefolder_zip_bytes, load_official_pt, save_official_pt
from dclab.runs.reader import run_images, summarize_run
from dclab.viz.grid import grid_image
from ui.state import CURRENT_RUN, all_runs, job_manager, runs_root, user_errors

st.title("Runs")
manager = job_manager()

# ---- import an official-format .pt -----------------------------------------------------------------
with st.expander("Import a synthetic set (.pt, official DC format {'data': [[images, labels]]})"):
    datasets = list_datasets()
    ds_name = st.selectbox("data set it belongs to", datasets,
                           index=datasets.index("digits") if "digits" in datasets else 0, key="import_dataset")
    upload = st.file_uploader("synthetic set (.pt)", type=["pt", "pth"], key="import_file")
    if upload is not None and st.button("Import", key="import"):
        with user_errors():
            data = load_dataset(ds_name)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                syn = load_official_pt(path, data)  # ValueError (one line) on a bad file: nothing written
            run = RunDir.create(runs_root(), f"imported_{data.name}_ipc{syn.ipc}")
            run.write_config({"spec": None, "method": "imported", "config": syn.config, "ipc": syn.ipc,
                              "seed": None, "device": "cpu",
                              "dataset": {"name": data.name, "mean": list(data.mean), "std": list(data.std),
                                          "class_names": list(data.class_names), "shape": list(data.shape)}})
            run.save_snapshot(0, syn.images)
            run.save_final(syn)
            run.write_status("finished", f"imported from {upload.name}", iteration=0, total_iterations=0)
            st.success(f"imported as run {run.run_id}")

runs = all_runs()
if not runs:
    st.info("No runs yet.")
    st.stop()
summaries = [summarize_run(r) for r in runs]
# a job of this process knows its status better than its status.json
summaries = [replace(s, status=manager.get(s.run_id).status) if manager.get(s.run_id) is not None else s
             for s in summaries]
st.dataframe([s.row() for s in summaries], hide_index=True, key="runs_table")

ids = [s.run_id for s in summaries]
run_id = st.selectbox("run", ids, key="runs_select")
run = next(r for r in runs if r.run_id == run_id)
summary = next(s for s in summaries if s.run_id == run_id)
job = manager.get(run_id)
live = job is not None and not job.ended
if summary.status in ("broken", "failed", "interrupted"):
    st.warning(f"{summary.status}: {summary.message}" if summary.message else summary.status)
c = st.columns(4)
if c[0].button("Open in Condense", key="open"):
    st.session_state[CURRENT_RUN] = run_id
    st.switch_page("pages/condense.py")
if c[1].button("Resume", key="runs_resume", disabled=live or summary.status in ("finished", "broken")
               or summary.method == "imported"):
    with user_errors():
        manager.resume(run_id)
        st.session_state[CURRENT_RUN] = run_id
        st.switch_page("pages/condense.py")
confirm = c[3].checkbox("yes, delete it", key="confirm_delete")
if c[2].button("Delete", key="delete", disabled=live or not confirm):
    with user_errors():  # RunBusyError names the process that still writes it
        run.delete()
        st.rerun()
if live:
    st.caption("stop the run before deleting it")

st.subheader("Export")
try:
    syn, source = run_images(run)
except ValueError as e:
    st.info(str(e))
    st.stop()
png = io.BytesIO()
grid_image(syn.denormalized(), syn.ipc, syn.class_names).save(png, format="PNG")
st.image(png.getvalue(), caption=f"{run_id}: {syn.method}, IPC {syn.ipc}, images: {source}")
with tempfile.TemporaryDirectory() as tmp:
    save_official_pt(syn, Path(tmp) / "syn.pt")
    pt_bytes = (Path(tmp) / "syn.pt").read_bytes()
c = st.columns(4)
c[0].download_button("PNG grid", png.getvalue(), f"{run_id}.png", "image/png", key="dl_png")
c[1].download_button(".pt (official format)", pt_bytes, f"{run_id}.pt", key="dl_pt")
c[2].download_button("image folder (.zip)", imagefolder_zip_bytes(syn), f"{run_id}.zip", "application/zip",
                     key="dl_zip")
if run.snapshot_iterations():
    if c[3].button("Build GIF", key="runs_build_gif"):
        with user_errors():
            st.session_state[f"gif_{run_id}"] = evolution_gif_bytes(run)
    if st.session_state.get(f"gif_{run_id}"):
        c[3].download_button("evolution GIF", st.session_state[f"gif_{run_id}"], f"{run_id}.gif", "image/gif",
                             key="dl_gif")
