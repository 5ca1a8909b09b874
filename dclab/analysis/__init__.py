"""Analyses of finished (or running) runs: the layer between the core and its front ends.

An analysis takes run records / synthetic sets and a protocol, returns a typed result, and reports
progress through a `progress(done, total)` callback (or `None`). It never imports streamlit and
never prints, so the same function serves a page (via `dclab.jobs.eval_job`'s task board), a CLI
command (`python -m dclab compare|tsne|multisize ... --json`) and a test.

Below it: `dclab.eval` (training nets under a protocol), `dclab.viz` (t-SNE, coverage, figures),
`dclab.runs` (reading run folders). Above it: `pages/` (widgets and layout) and `dclab/cli/`.
One module per analysis; a new analysis is a new module here plus, if wanted, a `*_cmd.py`.
"""
