"""A comparison of runs as ONE self-contained HTML file a teacher can hand out: no server, no network.

Per run: the initial images, the images now and the difference map (shown once when a pair shares
its initial images); the loss curves on one chart and each run's per-class losses; the payoff chart
and the coverage timeline when given; the protocol line of every accuracy. Images are inlined as
base64 PNG and plotly's JavaScript (from the installed plotly package) is inlined once.
"""
from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from plotly.offline import get_plotlyjs

from dclab.analysis.coverage_timeline import CoverageTimeline
from dclab.analysis.payoff import PayoffResult
from dclab.files import atomic_write
from dclab.runs.reader import run_images, snapshot_set, split_metrics
from dclab.runs.record import read_record
from dclab.runs.store import RunDir
from dclab.synthetic import SyntheticSet
from dclab.viz.analysis_figures import (class_losses_figure, coverage_lines_figure, losses_figure,
                                        payoff_figure, timeline_figure)
from dclab.viz.difference import difference_rgb
from dclab.viz.grid import grid_image

STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}.row figure{margin:0}
figcaption{font-size:.85em;color:#555;max-width:420px}.protocol{font-size:.85em;color:#444;background:#f4f4f4;
padding:.4em .6em;border-radius:4px}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #eee;
text-align:left}img{image-rendering:pixelated}"""


def _png(img) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(src: str, caption: str) -> str:
    return f'<figure><img src="{src}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def _plot(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, auto_play=False)


def _grid(syn: SyntheticSet) -> str:
    return _png(grid_image(syn.denormalized(), syn.ipc, class_names=list(syn.class_names)))


def _run_row(run: RunDir) -> dict[str, str]:
    record = read_record(run)
    status = run.read_status()
    return {"run": run.run_id, "method": record.method, "data set": record.dataset.name,
            "IPC": str(record.ipc), "preset": str(record.preset), "seed": str(record.seed),
            "iterations": f"{status.get('iteration', '?')} of {status.get('total_iterations', '?')}",
            "status": str(status.get("status"))}


def _table(rows: list[dict[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _images_section(runs: list[RunDir]) -> str:
    """Initial | now | difference per run; the initial grid once when all runs share it."""
    initial = {r.run_id: snapshot_set(r, r.snapshot_iterations()[0]) for r in runs}
    now = {r.run_id: run_images(r) for r in runs}
    first = next(iter(initial.values()))
    shared = len(runs) > 1 and all(s.images.shape == first.images.shape and torch.equal(s.images, first.images)
                                   for s in initial.values())
    parts = []
    if shared:
        parts.append('<div class="row">' + _figure(_grid(first), "initial images, shared by every run "
                                                   "(same seed, data set and IPC)") + "</div>")
    for r in runs:
        start, (current, source) = initial[r.run_id], now[r.run_id]
        figs = [] if shared else [_figure(_grid(start), f"{r.run_id}: initial images")]
        figs.append(_figure(_grid(current), f"{current.method}: images now ({source})"))
        rgb, full = difference_rgb(start.images, current.images, current.mean, current.std)
        figs.append(_figure(_png(grid_image(rgb, current.ipc, class_names=list(current.class_names))),
                            f"{current.method}: now minus initial (red brighter, blue darker; full colour "
                            f"at a change of {full:.2f} of the pixel range, which 99 % of the changes stay below)"))
        parts.append(f"<h3>{html.escape(current.method)} — {html.escape(r.run_id)}</h3>"
                     f'<div class="row">{"".join(figs)}</div>')
    return "".join(parts)


def _accuracy_lines(runs: list[RunDir]) -> list[str]:
    return [f"{r.run_id} at iteration {e['iteration']}: {100 * e['mean']:.2f} ± {100 * e['std']:.2f} % "
            f"[{e['protocol_text']}]" for r in runs for e in split_metrics(r.read_metrics()).evals]


def comparison_html(runs: Sequence[Path | str], out: Path | str, *, payoff: PayoffResult | None = None,
                    timeline: CoverageTimeline | None = None) -> Path:
    """Write the comparison of `runs` to `out` (one HTML file, nothing external) and return its path."""
    if not runs:
        raise ValueError("give at least one run")
    dirs = [RunDir.open(r) for r in runs]
    for r in dirs:
        if not r.snapshot_iterations():
            raise ValueError(f"run {r.run_id} has no snapshots yet")
    records = {r.run_id: read_record(r) for r in dirs}
    names = {rid: f"{rec.method} ({rid})" for rid, rec in records.items()}
    metrics = {r.run_id: r.read_metrics() for r in dirs}
    losses = {names[rid]: split_metrics(recs).losses for rid, recs in metrics.items()}
    body = [f"<h1>dclab comparison: {html.escape(', '.join(names.values()))}</h1>",
            f"<p>Written {time.strftime('%Y-%m-%d %H:%M')} by dclab.</p>", _table([_run_row(r) for r in dirs]),
            "<h2>Initial images and images now</h2>", _images_section(dirs),
            "<h2>Loss curves</h2>", _plot(losses_figure(losses), "losses")]
    for r in dirs:
        recs = metrics[r.run_id]
        if any(m.get("class_losses") for m in recs):
            classes = records[r.run_id].dataset.class_names
            body += [f"<h3>Per-class loss: {html.escape(names[r.run_id])}</h3>",
                     _plot(class_losses_figure(recs, classes), f"class-losses-{len(body)}")]
    protocol_lines = []
    if payoff is not None:
        body += ["<h2>The payoff</h2>", _plot(payoff_figure(payoff), "payoff"),
                 f'<pre class="protocol">{html.escape(payoff.describe())}</pre>']
        protocol_lines.append(f"payoff: {payoff.protocol}")
    if timeline is not None:
        body += ["<h2>Coverage over time</h2>", f'<p class="protocol">{html.escape(timeline.projection)}</p>',
                 _plot(timeline_figure(timeline), "timeline"), _plot(coverage_lines_figure(timeline), "coverage")]
    protocol_lines += _accuracy_lines(dirs)
    body += ["<h2>Protocol</h2>", "".join(f'<p class="protocol">{html.escape(line)}</p>' for line in protocol_lines)
             or '<p class="protocol">protocol: no accuracy was measured for this report</p>']
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>dclab comparison</title>"
            f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>{''.join(body)}</body></html>")
    path = Path(out)
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
