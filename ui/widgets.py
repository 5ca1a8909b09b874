"""Widgets every page shares: config forms generated from typed configs, evaluation-protocol controls,
the live panel of a background task, and an image grid shown at its own size. (Not a page.)
"""
from __future__ import annotations

import typing
from typing import Any

import streamlit as st

from dclab.config import BaseConfig, FieldInfo
from ui.state import eval_board


def _base_type(t: Any) -> tuple[type, bool]:
    """(inner type, optional?) of a field annotation such as `int | None`."""
    args = [a for a in typing.get_args(t) if a is not type(None)]
    if args and len(args) < len(typing.get_args(t)):
        return args[0], True
    return t, False


def field_widget(f: FieldInfo, value: Any, key: str, choices: list[str] | None = None) -> Any:
    """One widget for one config field: type -> widget, help text, choices -> selectbox, min/max."""
    typ, optional = _base_type(f.type)
    choices = list(f.choices) if f.choices is not None else choices
    label = f.name
    if choices:
        options = list(dict.fromkeys([*choices, value]))
        return st.selectbox(label, options, index=options.index(value), help=f.help, key=key)
    if typ is bool:
        return st.checkbox(label, value=bool(value), help=f.help, key=key)
    if optional or typ not in (int, float):
        text = st.text_input(label, value="" if value is None else str(value), help=f.help, key=key)
        return text  # parsed by BaseConfig.build (strings allowed)
    kwargs: dict[str, Any] = {"help": f.help, "key": key}
    if typ is int:
        kwargs.update(value=int(value), step=1)
        if f.min is not None:
            kwargs["min_value"] = int(f.min)
        if f.max is not None:
            kwargs["max_value"] = int(f.max)
    else:
        kwargs.update(value=float(value), format="%g")
        if f.min is not None:
            kwargs["min_value"] = float(f.min)
        if f.max is not None:
            kwargs["max_value"] = float(f.max)
    return st.number_input(label, **kwargs)


def config_form(config_class: type[BaseConfig], preset: str | None, key_prefix: str,
                choices: dict[str, list[str]] | None = None, skip: tuple[str, ...] = (),
                columns: int = 3) -> dict[str, Any]:
    """Widgets for every field of config_class, starting at the preset's values.

    Returns the overrides: the fields whose widget value differs from the preset's value.
    Widget keys include the preset, so choosing another preset resets the form to its values.
    """
    base = config_class.build(preset)
    cols = st.columns(columns)
    overrides: dict[str, Any] = {}
    fields = [f for f in config_class.fields_info() if f.name not in skip]
    for i, f in enumerate(fields):
        start = getattr(base, f.name)
        with cols[i % columns]:
            value = field_widget(f, start, f"{key_prefix}_{preset}_{f.name}", (choices or {}).get(f.name))
        if value != start and not (value == "" and start is None):
            overrides[f.name] = value
    return overrides


def protocol_settings(key_prefix: str, default_preset: str = "quick", with_net: bool = False) -> dict[str, Any]:
    """Compact evaluation-protocol controls -> settings for `resolve_settings` ({"preset", ...}).

    `published` (default) = each set under its own paper's protocol (scaled on a CPU), no further
    controls; any other preset = one protocol for every set, with K / epochs / augmentation controls.
    """
    from dclab.eval.protocol import AUGMENTS, PUBLISHED, EvalProtocol
    from dclab.nets import list_nets

    presets = EvalProtocol.preset_names()
    c = st.columns(5 if with_net else 4)
    preset = c[0].selectbox("protocol preset", presets, index=presets.index(default_preset),
                            key=f"{key_prefix}_preset",
                            help="published = each set under its own paper's protocol (fewer nets/epochs on a "
                            "CPU, stated with the result); others = one protocol for all; quick = seconds on CPU")
    if preset == PUBLISHED:
        c[1].caption("each set under the protocol of its method's paper; the protocol is printed with the number")
        return {"preset": preset}
    base = EvalProtocol.build(preset)
    models = c[1].number_input("K networks", 1, 100, base.models, key=f"{key_prefix}_{preset}_models")
    epochs = c[2].number_input("epochs", 1, 5000, base.epochs, key=f"{key_prefix}_{preset}_epochs")
    augment = c[3].selectbox("augmentation", list(AUGMENTS), index=AUGMENTS.index(base.augment),
                             key=f"{key_prefix}_{preset}_augment")
    settings: dict[str, Any] = {"preset": preset, "models": int(models), "epochs": int(epochs), "augment": augment}
    if with_net:
        nets = list_nets()
        settings["net"] = c[4].selectbox("network", nets, index=nets.index(base.net) if base.net in nets else 0,
                                         key=f"{key_prefix}_net")
    return settings


def progress_text(done: int, total: int, seconds: float) -> str:
    rate = done / seconds if seconds > 0 and done else None
    eta = (total - done) / rate if rate else None
    eta_s = f", ETA {eta:.0f} s" if eta is not None else ""
    pct = 100 * done / total if total else 0.0
    return f"{pct:.0f} % ({seconds:.0f} s{eta_s})"


def task_panel(key: str, render_result) -> None:
    """Show the EvalBoard task `key`: a live progress bar while it runs, then `render_result(result)`.

    The live part is a fragment polled every second only while the task runs; when it ends the
    whole page reruns once, so the result is drawn without further polling.
    """
    job = eval_board().get(key)
    if job is None:
        return
    snap = job.snapshot()
    if snap.status == "running":
        @st.fragment(run_every=1.0)
        def _live() -> None:
            s = job.snapshot()
            if s.status != "running":
                st.rerun()
            frac = s.done / s.total if s.total else 0.0
            st.progress(min(frac, 1.0), text=f"{s.label}: {progress_text(s.done, s.total, s.seconds)}")
            if st.button("Stop", key=f"stop_task_{key}"):
                job.stop()

        _live()
    elif snap.status == "failed":
        st.error(f"{snap.label} failed: {snap.message}")
    elif snap.status == "stopped":
        st.warning(f"{snap.label} was stopped; no result.")
    else:
        st.caption(f"{snap.label}: done in {snap.seconds:.1f} s")
        render_result(snap.result)


def show_grid(img, caption: str = "") -> None:
    """An image grid at its own pixel size (tiles already upscaled), shrunk to fit a narrower
    column but never stretched or overflowing into the next one."""
    st.image(img, caption=caption, width="content")
